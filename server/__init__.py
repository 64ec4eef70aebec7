"""Gravity Desk's HTTP face: aiohttp routes, auth and one adapter package per client protocol."""
