"""The baseline for the HTTP benchmarks: a trivial FastAPI endpoint with a small JSON body."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
def ping() -> dict[str, str]:
    """A small JSON body, served like the registry's sync endpoints (threadpool)."""
    return {"status": "ok", "service": "baseline", "version": "1"}
