"""The matter library (事项库): the national element standard, materials,
situations, versions, completeness, import and export."""
