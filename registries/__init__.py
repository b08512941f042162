"""The three national registries (data owners), each an independent FastAPI service."""
