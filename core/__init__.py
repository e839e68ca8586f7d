"""The domain model every damagemap package shares (no torch, no Qt)."""
