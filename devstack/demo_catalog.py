"""Deterministic DummyJSON-shaped products for the demo shop, the tests and the benchmark.

The same (count, seed) always gives the same products, so `make seed` twice changes nothing
and a benchmark run can be repeated exactly. The first products are well-known names, so
the walkthrough's searches (`iphone`, `lapt*`) find something recognisable.
"""

from __future__ import annotations

import random
from typing import Any

# slug → (brands, nouns, lowest price, highest price, tags)
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], int, int, tuple[str, ...]]] = {
    "smartphones": (("Apple", "Samsung", "Oppo", "Realme", "Vivo"), ("Phone", "Smartphone"), 99, 1499, ("mobile",)),
    "laptops": (("Apple", "Asus", "Lenovo", "Dell", "Huawei"), ("Laptop", "Notebook", "Ultrabook"), 399, 2999, ()),
    "tablets": (("Apple", "Samsung", "Lenovo"), ("Tablet", "Pad"), 149, 1299, ("mobile",)),
    "mobile-accessories": (("Apple", "Anker", "Belkin", "JBL"), ("Charger", "Headphones", "Case", "Cable"), 9, 299, ()),
    "fragrances": (("Chanel", "Dior", "Gucci", "Calvin Klein"), ("Eau de Parfum", "Perfume", "Cologne"), 29, 199, ()),
    "skincare": (("Olay", "Nivea", "CeraVe", "L'Oreal"), ("Serum", "Moisturizer", "Cleanser"), 5, 89, ("beauty",)),
    "groceries": (("Farm Fresh", "Green Valley", "Daily Harvest"), ("Apples", "Coffee", "Honey", "Rice"), 1, 39, ()),
    "home-decoration": (("Ikea", "Casa", "Lumen"), ("Lamp", "Vase", "Frame", "Mirror"), 9, 249, ("home",)),
    "furniture": (("Ikea", "Oakwood", "Nordic Living"), ("Chair", "Table", "Sofa", "Bed"), 49, 1999, ("home",)),
    "kitchen-accessories": (("Tefal", "Le Creuset", "Oxo"), ("Pan", "Knife", "Kettle", "Blender"), 7, 399, ("home",)),
    "sports-accessories": (("Nike", "Adidas", "Wilson", "Puma"), ("Ball", "Racket", "Gloves", "Bottle"), 5, 249, ()),
    "mens-shoes": (("Nike", "Adidas", "Puma", "Vans"), ("Sneakers", "Trainers", "Boots"), 39, 249, ("fashion",)),
    "womens-dresses": (("Zara", "Mango", "H&M"), ("Dress", "Gown", "Sundress"), 19, 299, ("fashion",)),
}
ADJECTIVES = ("Pro", "Air", "Max", "Lite", "Classic", "Plus", "Mini", "Ultra", "Eco", "Smart", "Deluxe", "Sport")
COLOURS = ("black", "white", "silver", "blue", "red", "green", "gold", "grey")
FAMOUS: tuple[dict[str, Any], ...] = (
    {"title": "iPhone 15 Pro", "brand": "Apple", "category": "smartphones", "price": 999.0},
    {"title": "Samsung Galaxy S24", "brand": "Samsung", "category": "smartphones", "price": 799.0},
    {"title": "MacBook Pro 14", "brand": "Apple", "category": "laptops", "price": 1999.0},
    {"title": "Lenovo ThinkPad X1 Carbon Laptop", "brand": "Lenovo", "category": "laptops", "price": 1499.0},
    {"title": "iPad Air", "brand": "Apple", "category": "tablets", "price": 599.0},
    {"title": "Wireless Headphones", "brand": "JBL", "category": "mobile-accessories", "price": 129.0},
)


def _product(product_id: int, rng: random.Random, base: dict[str, Any] | None) -> dict[str, Any]:
    category = base["category"] if base else rng.choice(sorted(CATEGORIES))
    brands, nouns, low, high, tags = CATEGORIES[category]
    brand = base["brand"] if base else rng.choice(brands)
    noun = rng.choice(nouns)
    title = base["title"] if base else f"{brand} {rng.choice(ADJECTIVES)} {noun} {rng.randint(2, 99)}"
    price = base["price"] if base else round(rng.uniform(low, high), 2)
    colour = rng.choice(COLOURS)
    stock = rng.choice((0, 3, 8, 15, 25, 40, 60, 100))
    return {
        "id": product_id,
        "title": title,
        "description": f"The {colour} {title}: a {noun.lower()} by {brand}, from our {category.replace('-', ' ')}.",
        "category": category,
        "price": price,
        "discountPercentage": round(rng.uniform(0, 20), 2),
        "rating": round(rng.uniform(2.5, 5), 2),
        "stock": stock,
        "tags": [category, *tags, colour],
        "brand": brand,
        "sku": f"{category[:4].upper()}-{product_id:06d}",
        "weight": rng.randint(1, 20),
        "dimensions": {"width": rng.randint(5, 80), "height": rng.randint(5, 80), "depth": rng.randint(1, 40)},
        "warrantyInformation": rng.choice(("1 year warranty", "2 year warranty", "No warranty")),
        "shippingInformation": rng.choice(("Ships in 1 day", "Ships in 3-5 days", "Ships overnight")),
        "availabilityStatus": "In Stock" if stock > 10 else "Low Stock" if stock else "Out of Stock",
        "returnPolicy": rng.choice(("30 days return policy", "No return policy")),
        "minimumOrderQuantity": 1,
        "images": [f"https://cdn.example.com/products/{product_id}/1.webp"],
        "thumbnail": f"https://cdn.example.com/products/{product_id}/thumbnail.webp",
    }


def products(count: int, seed: int = 7, first_id: int = 1, famous: bool | None = None) -> list[dict[str, Any]]:
    """`famous` (default: when the ids start at 1) gives the first products well-known names."""
    rng = random.Random(seed)
    named = first_id == 1 if famous is None else famous
    return [_product(first_id + n, rng, FAMOUS[n] if n < len(FAMOUS) and named else None) for n in range(count)]
