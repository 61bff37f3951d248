"""Settings, read from the environment with the prefix ``REGISTRY_``."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can configure."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///registry.db",
        description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://… in production.",
    )
    host: str = Field(default="127.0.0.1", description="Address `registry serve` binds to.")
    port: int = Field(default=8000, description="Port `registry serve` listens on.")
    max_body_bytes: int = Field(
        default=1_048_576, gt=0, description="Request bodies larger than this get a 413."
    )
    include_depth_limit: int = Field(
        default=10, ge=1, le=100, description="How deep includes of included prompts may nest."
    )
    page_size_max: int = Field(default=200, ge=1, description="Largest page a list may ask for.")
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, ge=0, description="How long a SQLite writer waits for the write lock."
    )
    statement_timeout_ms: int = Field(
        default=15_000,
        ge=0,
        description=(
            "PostgreSQL cancels an API request's statement that runs longer (a 503 the "
            "caller may retry); 0: no limit. The CLI's own commands are not limited."
        ),
    )
    answer_cache_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=0,
        description=(
            "Memory for resolve answers kept by each process and checked against the "
            "store on every request; 0 turns the cache off."
        ),
    )
    log_sql: bool = Field(default=False, description="Echo every SQL statement (debugging).")
    metrics_require_key: bool = Field(
        default=False,
        description=(
            "GET /metrics asks for an API key (any role). It shows route templates, statuses "
            "and timings, never a prompt's name or text, so it is open by default."
        ),
    )
    console_session_hours: float = Field(
        default=12, gt=0, description="How long a web console sign-in lasts."
    )
    trust_proxy_headers: bool = Field(
        default=False,
        description=(
            "Believe X-Forwarded-Proto from the proxy in front (the console's cookies are "
            "then Secure behind a TLS-terminating proxy); only when every request comes "
            "through that proxy."
        ),
    )

    webhooks_deliver: bool = Field(
        default=True,
        description=(
            "Each server process delivers webhook events in a thread of its own; off, "
            "they wait in the outbox for `registry webhooks deliver` (or a server with it on)."
        ),
    )
    webhook_poll_interval_s: float = Field(
        default=1.0, gt=0, le=3600, description="How often an idle worker looks for due events."
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="How long a receiver has to answer a post."
    )
    webhook_concurrency: int = Field(
        default=8, ge=1, le=64, description="Posts a worker makes at once."
    )
    webhook_max_attempts: int = Field(
        default=15, ge=1, le=100, description="Attempts of a delivery before it is failed."
    )
    webhook_max_age_s: float = Field(
        default=86_400,
        gt=0,
        description="A delivery still failing this long after it was scheduled is failed.",
    )
    webhook_retry_base_s: float = Field(
        default=5.0, gt=0, description="Delay before the first retry; it doubles each time."
    )
    webhook_retry_cap_s: float = Field(
        default=3600.0, gt=0, description="The longest delay between two attempts."
    )
    webhook_retention_days: float = Field(
        default=30, gt=0, description="Finished deliveries and their log are kept this long."
    )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
