"""hw_profiles package."""
