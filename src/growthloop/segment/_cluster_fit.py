"""Fitting the three clusterings on a standardised feature matrix (scikit-learn).

- **k-means** (Lloyd 1982; k-means++ seeding, Arthur & Vassilvitskii 2007) for every k in a
  range; k is the one with the highest mean silhouette (Rousseeuw 1987), ties going to the
  smaller k. The silhouette is computed on one random sample of at most ``sample`` customers,
  the same sample for every k (it costs O(n²)).
- **Stability**: k-means at the chosen k is refitted with every seed; the adjusted Rand index
  (Hubert & Arabie 1985) between each pair of runs says whether a rerun gives the same clusters
  (1 = identical partitions, 0 = chance agreement).
- **Gaussian mixture** (EM, Dempster, Laird & Rubin 1977) with diagonal covariances and the
  k-means k. BIC (Schwarz 1978) is not used to pick k: profile features are counts, shares and
  rates with point masses (0 orders, a share of exactly 0, imputed averages), which extra
  components fit ever better, so BIC keeps falling with k and over-splits. For the same reason
  every component's variance is floored at ``GMM_REG_COVAR`` (0.2, i.e. no component is
  narrower than 0.45 standard deviations in any feature); with full covariances or a smaller
  floor, EM more often settles on components that hug those point masses.
- **DBSCAN** (Ester, Kriegel, Sander & Xu 1996) with ``min_samples = 2 × features`` (Sander et
  al. 1998; Schubert et al. 2017, "DBSCAN revisited") and ``eps`` at the knee of the sorted
  k-distance graph: the point farthest below the chord from its first to its last point
  (Kneedle, Satopää et al. 2011). Customers in no dense region are noise (cluster -1).

Cluster numbers are reassigned by size, largest first, so that cluster 0 is always the biggest.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from growthloop.segment._cluster_features import ClusterError

__all__ = [
    "DBSCAN_MAX_ROWS",
    "GMM_MAX_ROWS",
    "GMM_REG_COVAR",
    "DbscanFit",
    "KChoice",
    "choose_k",
    "fit_dbscan",
    "fit_gmm",
    "kmeans_labels",
    "knee_eps",
    "relabel_by_size",
    "sample_rows",
    "seed_stability",
    "silhouette",
]

log = logging.getLogger(__name__)

Labels = npt.NDArray[np.int64]
Matrix = npt.NDArray[np.float64]

GMM_REG_COVAR = 0.2  # added to the component variances, in units of the standardised features
GMM_MAX_ROWS = 100_000  # the mixture is fitted on a sample this large, then predicts everyone
DBSCAN_MAX_ROWS = 20_000  # DBSCAN runs on a sample this large; others join the nearest core


def relabel_by_size(labels: npt.ArrayLike) -> Labels:
    """Renumber clusters 0, 1, ... by descending size (ties: lower old label first); keep -1."""
    values = np.asarray(labels, dtype=np.int64)
    clusters, counts = np.unique(values[values >= 0], return_counts=True)
    order = clusters[np.lexsort((clusters, -counts))]
    mapping = {int(old): new for new, old in enumerate(order.tolist())}
    out: Labels = np.array([mapping.get(int(v), -1) for v in values.tolist()], dtype=np.int64)
    return out


def sample_rows(n: int, size: int, seed: int) -> npt.NDArray[np.int64] | None:
    """Sorted random row indices (``None``: use every row)."""
    if n <= size:
        return None
    rows: npt.NDArray[np.int64] = np.sort(
        np.random.default_rng(seed).choice(n, size=size, replace=False)
    ).astype(np.int64)
    return rows


def silhouette(z: Matrix, labels: Labels, rows: npt.NDArray[np.int64] | None) -> float | None:
    """Mean silhouette of ``labels`` over ``rows`` (noise excluded); ``None`` if undefined."""
    from sklearn.metrics import silhouette_score

    x, y = (z, labels) if rows is None else (z[rows], labels[rows])
    keep = y >= 0
    x, y = x[keep], y[keep]
    groups = len(np.unique(y))
    if groups < 2 or groups >= len(y):
        return None
    return float(silhouette_score(x, y))


def kmeans_labels(z: Matrix, k: int, seed: int, n_init: int) -> Labels:
    """k-means (k-means++ seeding, ``n_init`` restarts) labels, renumbered by size.

    With fewer distinct customers than ``k`` some clusters stay empty; scikit-learn warns, and
    the silhouette of the result (computed on the clusters found) speaks for itself.
    """
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(z)
    return relabel_by_size(model.labels_)


@dataclass(frozen=True)
class KChoice:
    """The k-means fits over the k range and the chosen one."""

    k: int
    labels: Labels
    silhouette_by_k: dict[int, float]


def choose_k(
    z: Matrix, k_min: int, k_max: int, *, seed: int, n_init: int, sample: int
) -> KChoice:
    """Fit k-means for each k in ``k_min..k_max``; keep the k with the highest silhouette."""
    rows = sample_rows(len(z), sample, seed)
    scores: dict[int, float] = {}
    fits: dict[int, Labels] = {}
    for k in range(k_min, k_max + 1):
        labels = kmeans_labels(z, k, seed, n_init)
        score = silhouette(z, labels, rows)
        log.info("k-means k=%d: silhouette %s", k, score)
        if score is not None:
            scores[k] = score
            fits[k] = labels
    if not scores:
        raise ClusterError(
            "k-means found no two distinct groups for any k: the customers' features are "
            "(nearly) identical"
        )
    best = max(scores, key=lambda k: (round(scores[k], 12), -k))
    return KChoice(best, fits[best], scores)


def seed_stability(
    z: Matrix, k: int, seeds: tuple[int, ...], n_init: int, first: Labels
) -> list[tuple[int, int, float]]:
    """Adjusted Rand index between the k-means runs of every pair of seeds.

    ``first`` holds the labels already fitted with ``seeds[0]``.
    """
    from sklearn.metrics import adjusted_rand_score

    runs = {seeds[0]: first}
    for seed in seeds[1:]:
        runs[seed] = kmeans_labels(z, k, seed, n_init)
    pairs = []
    for i, a in enumerate(seeds):
        for b in seeds[i + 1:]:
            pairs.append((a, b, float(adjusted_rand_score(runs[a], runs[b]))))
    return pairs


def fit_gmm(z: Matrix, k: int, seed: int) -> tuple[Labels, bool]:
    """Gaussian-mixture labels (diagonal covariances) and whether EM converged."""
    from sklearn.mixture import GaussianMixture

    model = GaussianMixture(
        n_components=k, covariance_type="diag", reg_covar=GMM_REG_COVAR, n_init=3,
        max_iter=300, random_state=seed,
    )
    rows = sample_rows(len(z), GMM_MAX_ROWS, seed)
    model.fit(z if rows is None else z[rows])
    return relabel_by_size(model.predict(z)), bool(model.converged_)


def knee_eps(z: Matrix, min_samples: int) -> float:
    """``eps`` at the knee of the sorted ``min_samples``-distance graph (module docstring)."""
    from sklearn.neighbors import NearestNeighbors

    distances, _ = NearestNeighbors(n_neighbors=min_samples).fit(z).kneighbors(z)
    curve = np.sort(distances[:, -1])
    span = curve[-1] - curve[0]
    if span <= 0:
        return float(curve[-1]) or 1e-9
    x = np.linspace(0.0, 1.0, len(curve))
    below_chord = x - (curve - curve[0]) / span
    return float(curve[int(np.argmax(below_chord))])


@dataclass(frozen=True)
class DbscanFit:
    """DBSCAN labels (-1 = noise) and the parameters used."""

    labels: Labels
    eps: float
    min_samples: int
    sampled_rows: int


def fit_dbscan(z: Matrix, seed: int) -> DbscanFit:
    """DBSCAN with ``min_samples = 2 × features`` and ``eps`` from the k-distance knee."""
    from sklearn.cluster import DBSCAN
    from sklearn.neighbors import NearestNeighbors

    min_samples = min(2 * z.shape[1], max(2, len(z) - 1))
    rows = sample_rows(len(z), DBSCAN_MAX_ROWS, seed)
    fit_on = z if rows is None else z[rows]
    eps = knee_eps(fit_on, min_samples)
    model = DBSCAN(eps=eps, min_samples=min_samples).fit(fit_on)
    fitted = np.asarray(model.labels_, dtype=np.int64)
    if rows is None:
        labels = fitted
    else:
        # Everyone else joins the cluster of the nearest core customer within eps, or is noise.
        labels = np.full(len(z), -1, dtype=np.int64)
        labels[rows] = fitted
        core = np.asarray(model.core_sample_indices_, dtype=np.int64)
        rest = np.setdiff1d(np.arange(len(z)), rows)
        if len(core) and len(rest):
            distance, nearest = NearestNeighbors(n_neighbors=1).fit(fit_on[core]).kneighbors(
                z[rest]
            )
            near = distance[:, 0] <= eps
            labels[rest[near]] = fitted[core[nearest[near, 0]]]
    return DbscanFit(relabel_by_size(labels), eps, min_samples, len(fit_on))
