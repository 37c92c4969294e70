"""All configuration in one place: environment variables, or an optional .env file."""

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MARKET_SECRETS = (
    "amazon_access_key",
    "amazon_secret_key",
    "amazon_partner_tag",
    "amazon_credential_id",
    "amazon_credential_secret",
    "ebay_client_id",
    "ebay_client_secret",
    "walmart_consumer_id",
    "walmart_private_key",
    "bestbuy_api_key",
    "target_api_key",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL. Unset: an embedded PostgreSQL under DEALAGENT_HOME.",
    )
    dealagent_home: Path = Field(
        default=Path("~/.local/share/dealagent"),
        description="Where the embedded database and generated secrets live.",
    )
    db_pool_min: int = Field(default=5, description="Connections opened at start-up.")
    db_pool_max: int = Field(default=20, description="Connections kept in the pool.")
    db_pool_overflow: int = Field(default=5, description="Extra connections under load.")
    db_pool_recycle_s: int = Field(default=3600, description="Reconnect after this age.")
    db_statement_timeout_s: float = Field(default=30, description="Bound on one statement.")
    db_transaction_timeout_s: float = Field(default=30, description="Bound on one transaction.")
    db_retry_attempts: int = Field(default=3, description="Retries on deadlock/serialization.")
    db_retry_delay_s: float = Field(default=1.0, description="Pause before such a retry.")
    db_slow_query_s: float = Field(default=1.0, description="Statements slower are logged.")
    log_level: str = Field(default="INFO", description="Python logging level.")
    max_request_bytes: int = Field(default=1_048_576, description="Larger HTTP bodies get 413.")
    chat_auth_timeout_s: float = Field(default=10, description="Time to authenticate a socket.")
    chat_max_frame_bytes: int = Field(default=16384, description="Larger frames close with 1009.")
    chat_max_content_chars: int = Field(default=4000, description="Longest user message.")
    chat_rate_limit: int = Field(default=20, description="User messages per window, per user.")
    chat_rate_window_s: float = Field(default=60, description="The rate limit's sliding window.")
    chat_turn_wait_s: float = Field(default=300, description="Longest wait for a user's turn.")
    chat_lock_connections: int = Field(
        default=20,
        description="Connections a turn waits on while the same user's turn runs in another "
        "process (other turn locks share two connections).",
    )
    http_request_timeout_s: float = Field(
        default=10,
        gt=0,
        description="Time a connection has, from connecting or from its last answer, to send a "
        "complete request (headers and body) or WebSocket handshake; then it is closed (408).",
    )
    http_keep_alive_s: float = Field(
        default=5, gt=0, description="An idle keep-alive connection is closed after this."
    )
    max_connections: int = Field(
        default=2048,
        ge=1,
        description="Open connections (WebSockets included) per server process; past it, new "
        "connections get /healthz only, everything else 503.",
    )
    max_unauthenticated_per_client: int = Field(
        default=20,
        ge=1,
        description="Chat sockets from one client address still waiting for their auth frame; "
        "more are closed with 1013.",
    )
    embed_origins: str = Field(
        default="",
        description="Space- or comma-separated origins (https://shop.example) whose pages may "
        "embed the chat widget and call the REST API from the browser. Empty: this origin only.",
    )
    ws_ping_interval_s: float = Field(default=20, description="Idle sockets are pinged this often.")
    ws_ping_timeout_s: float = Field(default=20, description="Unanswered pings drop the socket.")

    # The chat agent's model: an OpenAI-compatible provider when a key is set, else offline.
    openai_api_key: str | None = Field(default=None, description="Unset: the offline model.")
    openai_base_url: str | None = Field(
        default=None, description="Any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp)."
    )
    llm_model: str = Field(default="gpt-4o-mini", description="Model name sent to the provider.")
    llm_timeout_s: float = Field(
        default=60,
        gt=0,
        description="Bound on connecting to the provider and on each wait for its next bytes.",
    )
    llm_max_retries: int = Field(
        default=2, ge=0, description="Retries of a failed model call (agent/provider_retry.py)."
    )
    llm_retry_wait_s: float = Field(
        default=0.5, ge=0, description="Wait before the first retry; it doubles, up to 8 s."
    )
    llm_retry_wait_max_s: float = Field(
        default=20,
        ge=0,
        description="Most one model call waits between its retries, the provider's "
        "Retry-After included; a longer Retry-After fails the turn at once.",
    )
    agent_max_model_calls: int = Field(default=8, description="Model calls allowed per turn.")
    agent_history_tokens: int = Field(
        default=3000, description="Token budget of past messages the model sees."
    )

    # accounts and authentication
    auth_secret: str | None = Field(
        default=None,
        description="Signs auth tokens. Unset: generated once, kept in DEALAGENT_HOME/auth_secret.",
    )
    access_token_ttl_s: int = Field(default=900, gt=0, description="Access token lifetime.")
    refresh_token_ttl_s: int = Field(
        default=30 * 24 * 3600, gt=0, description="Refresh token lifetime."
    )
    reset_token_ttl_s: int = Field(default=3600, gt=0, description="Password-reset token lifetime.")
    password_min_length: int = Field(default=10, ge=8, description="Shortest password accepted.")
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins per email in the window before 429."
    )
    login_max_failures_per_client: int = Field(
        default=20, ge=1, description="Failed logins per client address in the window before 429."
    )
    login_failure_window_s: int = Field(
        default=900, gt=0, description="Window over which failed logins are counted."
    )
    reset_max_requests: int = Field(
        default=3, ge=1, description="Password-reset requests per email in the window before 429."
    )
    reset_max_requests_per_client: int = Field(
        default=10, ge=1, description="Reset requests per client address in the window before 429."
    )
    reset_request_window_s: int = Field(
        default=3600, gt=0, description="Window over which reset requests are counted."
    )
    register_max_per_client: int = Field(
        default=10, ge=1, description="Sign-ups from one client address per hour before 429."
    )
    referral_max_per_day: int = Field(
        default=5, ge=0, description="Referral rewards paid to one referrer per UTC day."
    )
    signup_grant: Decimal = Field(
        default=Decimal("50"), ge=0, description="Tokens every new user starts with."
    )
    password_reset_url: str | None = Field(
        default=None,
        description="Link mailed for password resets; the token is appended as ?token=...",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server. Unset: mail is logged.")
    smtp_port: int = Field(default=587, description="SMTP port.")
    smtp_username: str | None = Field(default=None, description="SMTP login, if required.")
    smtp_password: str | None = Field(default=None, description="SMTP password, if required.")
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP link with STARTTLS.")
    mail_from: str = Field(default="dealagent@localhost", description="Sender of outgoing mail.")

    # The monitor: background goal checks on the PostgreSQL job queue (procrastinate).
    monitor_in_process: bool = Field(
        default=True, description="`serve` runs one monitor worker inside the server process."
    )
    monitor_concurrency: int = Field(
        default=4, ge=1, le=100, description="Goal checks one worker runs at once."
    )
    monitor_interval_high_s: float = Field(
        default=900, gt=0, description="Re-check interval of high-priority goals."
    )
    monitor_interval_medium_s: float = Field(
        default=3600, gt=0, description="Re-check interval of medium-priority goals."
    )
    monitor_interval_low_s: float = Field(
        default=21600, gt=0, description="Re-check interval of low-priority goals."
    )
    monitor_tick_s: int = Field(
        default=10, ge=1, le=60, description="How often due goals are looked for and queued."
    )
    monitor_stalled_s: float = Field(
        default=30, gt=0, description="A worker silent this long is dead; its checks run again."
    )
    low_balance_threshold: Decimal = Field(
        default=Decimal("5"), ge=0, description="A balance falling under this is notified."
    )
    # Notifications by webhook: a signed POST to the URL a user saved (markets/webhook.py).
    webhook_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="Bound on one webhook delivery: resolving, connecting, sending, the answer.",
    )
    webhook_retry_wait_s: int = Field(
        default=2,
        ge=1,
        le=60,
        description="Failed deliveries are retried after this many seconds to the power 1, 2, …",
    )
    webhook_private_hosts: bool = Field(
        default=False,
        description="Allow http:// and private/loopback webhook URLs (tests, intranets).",
    )

    # Markets. With none of the credentials below set, the sandbox marketplace stands in.
    sandbox_markets: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="auto: run the sandbox marketplace when no market credentials are set.",
    )
    sandbox_url: str | None = Field(
        default=None, description="A shared `dealagent sandbox` to use instead of one in-process."
    )
    sandbox_port: int = Field(
        default=8765,
        ge=0,
        le=65535,
        description="Port for the in-process sandbox; fixed so that sandbox product URLs, and "
        "so stored deals, stay the same across restarts: if it is taken, start-up fails "
        "naming it. 0: any free port (tests).",
    )
    page_fetch_timeout_s: float = Field(
        default=10,
        gt=0,
        description="Bound on fetching one product page (resolving, connecting, headers, body).",
    )
    track_private_hosts: bool = Field(
        default=False,
        description="Let track_product_url fetch private/loopback addresses (tests, intranets).",
    )
    market_timeout_s: float = Field(default=5.0, description="Bound on one market's answer.")
    market_error_threshold: int = Field(
        default=3, description="Consecutive failures that put a market in status error."
    )
    market_backoff_s: float = Field(default=30, description="First pause after status error.")
    market_backoff_max_s: float = Field(default=900, description="Longest such pause.")
    amazon_access_key: str | None = Field(default=None, description="PA-API 5.0 access key.")
    amazon_secret_key: str | None = Field(default=None, description="PA-API 5.0 secret key.")
    amazon_partner_tag: str | None = Field(
        default=None, description="Associates partner tag: every Amazon link earns for it."
    )
    amazon_region: str = Field(default="us-east-1", description="PA-API region for SigV4.")
    amazon_marketplace: str = Field(default="www.amazon.com", description="Amazon marketplace.")
    # Amazon's Creators API, PA-API 5.0's successor; used whenever its credential is set.
    amazon_credential_id: str | None = Field(default=None, description="Creators API id.")
    amazon_credential_secret: str | None = Field(
        default=None, description="Creators API credential secret."
    )
    amazon_credential_version: str = Field(
        default="2.1", description="Creators API credential version (2.1 NA, 2.2 EU, 2.3 FE)."
    )
    amazon_token_url: str = Field(
        default="https://creatorsapi.auth.us-west-2.amazoncognito.com/oauth2/token",
        description="Creators API OAuth 2.0 token endpoint for the credential's region.",
    )
    amazon_creators_url: str = Field(
        default="https://creatorsapi.amazon/catalog/v1/searchItems",
        description="Creators API SearchItems endpoint.",
    )
    ebay_client_id: str | None = Field(default=None, description="eBay app id (client id).")
    ebay_client_secret: str | None = Field(default=None, description="eBay cert id (secret).")
    ebay_marketplace_id: str = Field(default="EBAY_US", description="X-EBAY-C-MARKETPLACE-ID.")
    ebay_campaign_id: str | None = Field(
        default=None, description="eBay Partner Network campaign id (affiliate links)."
    )
    ebay_affiliate_reference_id: str | None = Field(
        default=None, description="EPN custom reference id, reported back with each sale."
    )
    walmart_consumer_id: str | None = Field(default=None, description="Walmart consumer id.")
    walmart_key_version: str = Field(default="1", description="Walmart private key version.")
    walmart_private_key: str | None = Field(
        default=None, description="PEM of the RSA key registered with Walmart (signs requests)."
    )
    walmart_publisher_id: str | None = Field(
        default=None, description="Impact publisher id: links become Walmart's tracking URL."
    )
    bestbuy_api_key: str | None = Field(default=None, description="Best Buy Products API key.")
    target_api_key: str | None = Field(
        default=None, description="RedSky key (else the markets row's api_key)."
    )

    def market_credentials_set(self) -> bool:
        return any(getattr(self, name) for name in MARKET_SECRETS)

    @property
    def embedding_origins(self) -> list[str]:
        return [o.rstrip("/") for o in self.embed_origins.replace(",", " ").split() if o]

    @property
    def home(self) -> Path:
        return self.dealagent_home.expanduser()


@lru_cache
def get_settings() -> Settings:
    return Settings()
