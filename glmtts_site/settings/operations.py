"""Settings for running at scale: metrics, object storage, the CDN's purge API (imported by base.py)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .env import env_int, env_str

# --- Metrics (/metrics, Prometheus text format; docs/operations.md) ---------------------------
# Off unless one is set. A scrape must send `Authorization: Bearer <METRICS_TOKEN>` and/or come from an
# address in METRICS_ALLOW_IPS (comma-separated addresses or CIDR networks, the socket's peer).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOW_IPS = env_str("METRICS_ALLOW_IPS", "")

# --- Object storage: reference clips and results ----------------------------------------------
# "filesystem" (MEDIA_ROOT) or "s3" (any S3 API: AWS, R2, MinIO, Ceph) through django-storages.
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "filesystem")
if STORAGE_BACKEND not in ("filesystem", "s3"):
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be filesystem or s3, got {STORAGE_BACKEND!r}.")
S3_BUCKET = env_str("S3_BUCKET", "")
if STORAGE_BACKEND == "s3" and not S3_BUCKET:
    raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs S3_BUCKET.")
S3_OPTIONS = {
    "bucket_name": S3_BUCKET,
    "endpoint_url": env_str("S3_ENDPOINT_URL", "") or None,  # unset: AWS
    "region_name": env_str("S3_REGION", "") or None,
    # Unset: boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, an instance role, ...).
    "access_key": env_str("S3_ACCESS_KEY_ID", "") or None,
    "secret_key": env_str("S3_SECRET_ACCESS_KEY", "") or None,
    "location": env_str("S3_PREFIX", ""),
    "addressing_style": env_str("S3_ADDRESSING_STYLE", "") or None,  # "path" for MinIO and most self-hosted
    "default_acl": None,  # the bucket's policy decides; objects are never made public one by one
    "file_overwrite": False,  # two writers of one name keep both, and results.storage drops the loser's
    "querystring_expire": env_int("S3_URL_EXPIRE_S", 3600, minimum=60),
}
# How /a/<token> answers from S3: "proxy" streams the object through the web (ranged GETs, our ETag and
# cache headers: the edge caches it); "redirect" answers 302 to a signed URL valid S3_URL_EXPIRE_S.
AUDIO_DELIVERY = env_str("AUDIO_DELIVERY", "proxy")
if AUDIO_DELIVERY not in ("proxy", "redirect"):
    raise ImproperlyConfigured(f"AUDIO_DELIVERY must be proxy or redirect, got {AUDIO_DELIVERY!r}.")
DEFAULT_FILE_STORAGE_BACKEND = {
    "filesystem": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "s3": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": S3_OPTIONS},
}[STORAGE_BACKEND]

# --- Cloudflare purge (off unless both are set; docs/operations.md) ---------------------------
CLOUDFLARE_ZONE_ID = env_str("CLOUDFLARE_ZONE_ID", "")
CLOUDFLARE_API_TOKEN = env_str("CLOUDFLARE_API_TOKEN", "")
CLOUDFLARE_API_BASE = env_str("CLOUDFLARE_API_BASE", "https://api.cloudflare.com/client/v4")
# The site's public origin (https://tts.example.com): purge by URL needs absolute URLs.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "").rstrip("/")
CLOUDFLARE_PURGE_ATTEMPTS = env_int("CLOUDFLARE_PURGE_ATTEMPTS", 5, minimum=1)
