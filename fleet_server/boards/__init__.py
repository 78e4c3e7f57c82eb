"""Boards as the API and console see them: lists, detail, connectivity."""
