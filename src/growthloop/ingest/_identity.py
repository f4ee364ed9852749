"""Identity resolution: customer ids, anonymous ids, emails and phones joined into one
canonical customer.

Every link (an identify call, an alias, a customer record with an email) is an edge between two
identities. The connected components of that graph are the customers: this is the union-find
result, computed with SciPy's ``connected_components`` over the whole graph, so the outcome
depends only on the set of links, never on the order they arrived in. A component's canonical
id is its smallest customer id; a component with no customer id yet is ``anon:`` plus its
smallest anonymous id. Merges (two known customers found to be one) are recorded in
``identity_merges``. Events and order lines store their canonical id; the rows of every
identity whose canonical id changed are rewritten here.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from growthloop.store._schema import (
    EVENT_CANONICAL_ID,
    EVENT_IDENTITY_JOINS,
    LINE_CANONICAL_ID,
    LINE_IDENTITY_JOINS,
)

__all__ = ["IDENTITY_KINDS", "resolve_identities"]

IDENTITY_KINDS = ("customer", "anonymous", "email", "phone")


def _components(left: np.ndarray, right: np.ndarray, n: int) -> np.ndarray:
    """Component label of each of ``n`` nodes given edges ``left[i]`` — ``right[i]``."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    data = np.ones(len(left), dtype=np.int8)
    graph = coo_matrix((data, (left, right)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def resolve_identities(con: duckdb.DuckDBPyConnection, *, load_id: str) -> int:
    """Recompute ``identities`` from all ``identity_links``; return the number of merges."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _id_nodes AS
        SELECT kind, value, (row_number() OVER (ORDER BY kind, value)) - 1 AS node FROM (
            SELECT left_kind AS kind, left_value AS value FROM identity_links
            UNION SELECT right_kind, right_value FROM identity_links)"""
    )
    edges = con.execute(
        """SELECT a.node AS a_node, b.node AS b_node FROM identity_links l
        JOIN _id_nodes a ON a.kind = l.left_kind AND a.value = l.left_value
        JOIN _id_nodes b ON b.kind = l.right_kind AND b.value = l.right_value"""
    ).fetchnumpy()
    n = int(con.execute("SELECT count(*) FROM _id_nodes").fetchall()[0][0])
    left = np.asarray(edges["a_node"], dtype=np.int64)
    right = np.asarray(edges["b_node"], dtype=np.int64)
    labels = _components(left, right, n)
    con.register("_id_labels_arrow", pa.table({"node": np.arange(n), "label": labels}))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _id_new AS
        WITH labelled AS (
            SELECT n.kind, n.value, l.label FROM _id_nodes n
            JOIN _id_labels_arrow l ON l.node = n.node),
        canon AS (
            SELECT label, coalesce(min(value) FILTER (WHERE kind = 'customer'),
                                   'anon:' || min(value) FILTER (WHERE kind = 'anonymous'),
                                   min(kind || ':' || value)) AS canonical_id
            FROM labelled GROUP BY label)
        SELECT l.kind, l.value, c.canonical_id FROM labelled l JOIN canon c USING (label)"""
    )
    con.unregister("_id_labels_arrow")
    # A merge: a new component holding customers that had different canonical ids before.
    merges = con.execute(
        """WITH before AS (
            SELECT n.canonical_id AS new_id,
                   coalesce(o.canonical_id,
                            CASE WHEN n.kind = 'customer' THEN n.value END) AS old_id
            FROM _id_new n LEFT JOIN identities o ON o.kind = n.kind AND o.value = n.value
            WHERE n.kind = 'customer')
        SELECT DISTINCT new_id, old_id FROM before
        WHERE old_id IS NOT NULL AND old_id <> new_id AND NOT starts_with(old_id, 'anon:')
          AND new_id IN (SELECT new_id FROM before GROUP BY new_id
                         HAVING count(DISTINCT old_id) > 1)"""
    ).fetchall()
    if merges:
        con.executemany(
            "INSERT INTO identity_merges VALUES (?, now()::TIMESTAMP, ?, ?)",
            [[load_id, new_id, old_id] for new_id, old_id in merges],
        )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _id_changed AS SELECT n.kind, n.value FROM _id_new n
        LEFT JOIN identities o ON o.kind = n.kind AND o.value = n.value
        WHERE o.canonical_id IS DISTINCT FROM n.canonical_id"""
    )
    con.execute("DELETE FROM identities")
    con.execute("INSERT INTO identities SELECT kind, value, canonical_id FROM _id_new")
    _rewrite_canonical_ids(con)
    return len(merges)


def _rewrite_canonical_ids(con: duckdb.DuckDBPyConnection) -> None:
    """Store the new canonical id on the events and order lines of changed identities."""
    changed = "SELECT value FROM _id_changed WHERE kind = '{kind}'"
    con.execute(
        f"""UPDATE events SET canonical_id = f.cid FROM (
            SELECT e.rowid AS rid, {EVENT_CANONICAL_ID.format(e="e")} AS cid
            FROM events e {EVENT_IDENTITY_JOINS.format(e="e")}
            WHERE (e.user_id IN ({changed.format(kind="customer")})
                   OR e.anonymous_id IN ({changed.format(kind="anonymous")}))) f
        WHERE events.rowid = f.rid AND events.canonical_id IS DISTINCT FROM f.cid"""
    )
    con.execute(
        f"""UPDATE order_lines SET canonical_id = f.cid FROM (
            SELECT l.rowid AS rid, {LINE_CANONICAL_ID.format(l="l")} AS cid
            FROM order_lines l {LINE_IDENTITY_JOINS.format(l="l")}
            WHERE l.customer_id IN ({changed.format(kind="customer")})) f
        WHERE order_lines.rowid = f.rid AND order_lines.canonical_id IS DISTINCT FROM f.cid"""
    )
    con.execute("DROP TABLE _id_changed")
