"""The product catalogue: categories, their vocabulary, prices and popularity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from growthloop.generate._geo import CURRENCIES, FX_FROM_GBP
from growthloop.generate._strings import numbered_ids

__all__ = ["CATEGORIES", "Catalogue", "Category", "make_catalogue"]


@dataclass(frozen=True)
class Category:
    """A product category with the words its titles, descriptions and tags are made of."""

    name: str
    slug: str
    share: float
    median_price: float  # GBP
    price_sigma: float
    return_rate: float
    brands: tuple[str, ...]
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]
    uses: tuple[str, ...]
    features: tuple[str, ...]
    tags: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category(
        "Electronics", "electronics", 0.12, 70.0, 0.7, 0.03,
        ("Voltra", "Nexon", "Kairo", "Lumio", "Brightwave"),
        ("Wireless", "Smart", "Portable", "Compact", "Rechargeable", "Bluetooth", "Digital"),
        ("Headphones", "Speaker", "Charger", "Smartwatch", "Power Bank", "Webcam", "Earbuds",
         "Keyboard", "Mouse", "Tablet Stand"),
        ("music on the go", "video calls", "gaming", "working from home", "streaming"),
        ("long battery life", "fast charging", "noise cancelling", "USB-C connectivity",
         "low-latency audio", "a built-in microphone", "an HD display"),
        ("tech", "gadget", "wireless", "battery", "usb-c", "audio", "smart-home"),
    ),
    Category(
        "Fashion", "fashion", 0.18, 35.0, 0.5, 0.08,
        ("Thread & Co", "Marlowe", "Northfield", "Ivy Lane", "Atelier Nove"),
        ("Linen", "Cotton", "Slim-fit", "Oversized", "Knitted", "Classic", "Relaxed"),
        ("Shirt", "Dress", "Jumper", "Jeans", "Jacket", "Scarf", "T-Shirt", "Skirt", "Hoodie",
         "Trainers"),
        ("everyday wear", "the office", "weekends away", "layering", "evenings out"),
        ("breathable fabric", "a tailored cut", "soft organic cotton", "a stretch waistband",
         "machine-washable material", "a timeless silhouette"),
        ("clothing", "style", "cotton", "casual", "outfit", "wardrobe", "apparel"),
    ),
    Category(
        "Home & Kitchen", "home-kitchen", 0.17, 25.0, 0.6, 0.02,
        ("Hearth", "Copperleaf", "Maison Blanc", "Kitchly", "Oakridge"),
        ("Non-stick", "Stainless", "Ceramic", "Glass", "Bamboo", "Cast-iron", "Stackable"),
        ("Frying Pan", "Saucepan", "Mug Set", "Chopping Board", "Knife Block", "Blender",
         "Storage Jars", "Kettle", "Cushion Cover", "Table Lamp"),
        ("everyday cooking", "family dinners", "meal prep", "cosy evenings", "baking"),
        ("dishwasher-safe parts", "an ergonomic handle", "even heat distribution",
         "a scratch-resistant finish", "space-saving design", "food-safe materials"),
        ("kitchen", "cookware", "home", "dining", "decor", "storage", "homeware"),
    ),
    Category(
        "Beauty", "beauty", 0.13, 15.0, 0.5, 0.015,
        ("Glow Theory", "Aurelle", "Pure Botanica", "Velvetine", "Dermaly"),
        ("Hydrating", "Nourishing", "Vegan", "Fragrance-free", "Brightening", "Gentle"),
        ("Face Serum", "Moisturiser", "Lip Balm", "Shampoo", "Body Lotion", "Eye Cream",
         "Face Mask", "Perfume", "Hand Cream", "Cleanser"),
        ("a daily skincare routine", "sensitive skin", "pampering", "dry skin", "self-care"),
        ("hyaluronic acid", "vitamin C", "shea butter", "natural botanical extracts",
         "cruelty-free ingredients", "a light non-greasy texture"),
        ("skincare", "beauty", "cosmetics", "vegan", "self-care", "haircare", "fragrance"),
    ),
    Category(
        "Toys", "toys", 0.10, 20.0, 0.55, 0.015,
        ("Playbright", "Tinker Town", "Wonderblox", "Little Explorer", "Jumbo Joy"),
        ("Wooden", "Educational", "Colourful", "Interactive", "Plush", "Magnetic"),
        ("Building Blocks", "Puzzle", "Teddy Bear", "Train Set", "Board Game", "Doll House",
         "Science Kit", "Art Set", "Toy Car", "Robot Kit"),
        ("imaginative play", "family game night", "learning through play", "birthday gifts",
         "rainy afternoons"),
        ("child-safe paint", "age-appropriate pieces", "durable construction",
         "hours of creative fun", "a gift-ready box", "STEM learning"),
        ("kids", "toys", "gift", "educational", "family", "games", "play"),
    ),
    Category(
        "Garden", "garden", 0.09, 30.0, 0.6, 0.02,
        ("Greenthumb", "Bloomfield", "Terra Verde", "Wildroot", "Patio Pro"),
        ("Weatherproof", "Solar", "Galvanised", "Folding", "Organic", "Heavy-duty"),
        ("Planter", "Hose Reel", "Pruning Shears", "Bird Feeder", "String Lights",
         "Garden Kneeler", "Seed Kit", "Watering Can", "Compost Bin", "Bistro Set"),
        ("the vegetable patch", "balcony gardens", "summer evenings outdoors",
         "growing herbs", "lawn care"),
        ("rust-proof steel", "UV-resistant materials", "frost-hardy construction",
         "easy assembly", "a drainage system", "peat-free compost"),
        ("garden", "outdoor", "plants", "patio", "gardening", "seeds", "lawn"),
    ),
    Category(
        "Stationery", "stationery", 0.10, 7.0, 0.5, 0.01,
        ("Inkwell", "Papercraft", "Noted", "Scribe & Co", "Quillby"),
        ("Dotted", "Lined", "Refillable", "A5", "Hardback", "Recycled"),
        ("Notebook", "Fountain Pen", "Planner", "Sticky Notes", "Pencil Case", "Gel Pens",
         "Desk Organiser", "Greeting Cards", "Washi Tape", "Journal"),
        ("journaling", "school", "planning the week", "note-taking", "letter writing"),
        ("acid-free paper", "smooth-flowing ink", "a lay-flat binding", "recycled card",
         "a ribbon bookmark", "smudge-proof pages"),
        ("stationery", "paper", "office", "school", "writing", "planner", "notebook"),
    ),
    Category(
        "Sports", "sports", 0.11, 40.0, 0.6, 0.025,
        ("Stride", "Peakform", "Ironclad", "Aqualine", "Trailmark"),
        ("Lightweight", "Adjustable", "Anti-slip", "Quick-dry", "Insulated", "Reflective"),
        ("Yoga Mat", "Dumbbells", "Running Shorts", "Water Bottle", "Resistance Bands",
         "Cycling Gloves", "Gym Bag", "Skipping Rope", "Tennis Racket", "Football"),
        ("home workouts", "marathon training", "the gym", "outdoor runs", "team sports"),
        ("sweat-wicking fabric", "a non-slip grip", "high-density foam", "adjustable straps",
         "a reinforced frame", "ergonomic support"),
        ("fitness", "sports", "gym", "running", "workout", "outdoor", "training"),
    ),
)


@dataclass(frozen=True)
class Catalogue:
    """The products as a table plus the arrays the simulation samples from."""

    table: pa.Table
    category: npt.NDArray[np.int64]  # category index of each product
    price_gbp: npt.NDArray[np.float64]
    local_price: npt.NDArray[np.float64]  # (products, currencies) price shown in each currency
    popularity: npt.NDArray[np.float64]  # Zipf weight within the category
    product_ids: pa.Array
    category_names: pa.Array


def _category_counts(products: int) -> npt.NDArray[np.int64]:
    shares = np.array([c.share for c in CATEGORIES])
    spare = products - len(CATEGORIES)
    counts = 1 + np.floor(shares * spare).astype(np.int64)
    remainder = products - int(counts.sum())
    order = np.argsort(-(shares * spare - np.floor(shares * spare)), kind="stable")
    counts[order[:remainder]] += 1
    result: npt.NDArray[np.int64] = counts
    return result


def _shelf_price(price: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Round to shop-style prices: 4.49, 12.99, 129.00 ..."""
    cheap = np.maximum(np.round(price * 2) / 2 - 0.01, 0.99)
    dear = np.round(price) - 0.01
    shelf = np.where(price < 10, cheap, np.where(price < 100, dear, np.round(price)))
    rounded: npt.NDArray[np.float64] = np.round(shelf, 2).astype(np.float64)
    return rounded


def make_catalogue(products: int, rng: np.random.Generator) -> Catalogue:
    """Draw ``products`` products over the categories."""
    counts = _category_counts(products)
    category = rng.permutation(np.repeat(np.arange(len(CATEGORIES)), counts))
    median = np.array([c.median_price for c in CATEGORIES])[category]
    sigma = np.array([c.price_sigma for c in CATEGORIES])[category]
    price = _shelf_price(median * np.exp(sigma * rng.standard_normal(products)))
    fx = np.array([FX_FROM_GBP[c] for c in CURRENCIES])
    local = np.where(fx[None, :] == 1.0, price[:, None], _shelf_price(price[:, None] * fx))

    popularity = np.empty(products)
    for index in range(len(CATEGORIES)):
        members = np.flatnonzero(category == index)
        rank = rng.permutation(len(members))
        popularity[members] = 1.0 / (rank + 1.0) ** 1.1

    titles: list[str] = []
    descriptions: list[str] = []
    tags: list[str] = []
    brands: list[str] = []
    for index in category.tolist():
        cat = CATEGORIES[index]
        brand = cat.brands[rng.integers(len(cat.brands))]
        adjective = cat.adjectives[rng.integers(len(cat.adjectives))]
        noun = cat.nouns[rng.integers(len(cat.nouns))]
        use = cat.uses[rng.integers(len(cat.uses))]
        first, second = rng.choice(len(cat.features), size=2, replace=False).tolist()
        chosen = rng.choice(len(cat.tags), size=int(rng.integers(3, 6)), replace=False)
        brands.append(brand)
        titles.append(f"{brand} {adjective} {noun}")
        descriptions.append(
            f"{adjective} {noun.lower()} by {brand}, made for {use}. "
            f"Features {cat.features[first]} and {cat.features[second]}."
        )
        tags.append("|".join(cat.tags[i] for i in sorted(chosen.tolist())))

    product_ids = numbered_ids("P", np.arange(1, products + 1, dtype=np.int64), 5)
    category_names = pa.array([c.name for c in CATEGORIES], pa.string())
    table = pa.table(
        {
            "product_id": product_ids,
            "title": pa.array(titles, pa.string()),
            "description": pa.array(descriptions, pa.string()),
            "category": category_names.take(pa.array(category)),
            "price": pa.array(price, pa.float64()),
            "currency": pa.array(["GBP"] * products, pa.string()),
            "tags": pa.array(tags, pa.string()),
            "brand": pa.array(brands, pa.string()),
        }
    )
    return Catalogue(table, category, price, local, popularity, product_ids, category_names)
