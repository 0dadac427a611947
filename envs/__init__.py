"""The tool APIs. Each module defines ``DOMAIN``; registration discovers them."""
