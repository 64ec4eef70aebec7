"""Gravity Desk's domain: accounts, upstream clients, the account pool, the gateway and settings (no Qt, no aiohttp.web)."""
