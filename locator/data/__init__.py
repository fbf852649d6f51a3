"""Loaders and builders for the locator's data files (communes, bureaux, areas, corrections)."""
