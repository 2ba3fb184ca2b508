"""NoduleFusion's Qt-free parts: the logic (runs, result nodes) and the panel (needs Qt)."""
