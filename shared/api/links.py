"""Where the reports live, as a plain URL a client can be shown: never with a key or SAS."""

from __future__ import annotations

from urllib.parse import quote

from shared.settings import Settings

DEVELOPMENT_BLOB_ENDPOINT = "http://127.0.0.1:10000/devstoreaccount1"


def reports_container_url(settings: Settings) -> str:
    """The URL of the reports container (reading it needs the caller's own storage access)."""
    return f"{blob_endpoint(settings)}/{quote(settings.reports_container)}"


def blob_endpoint(settings: Settings) -> str:
    """The blob service URL of the app's storage account, from the account name or from the
    endpoint parts of the connection string (its key and any SAS are never read)."""
    if settings.uses_storage_identity:
        return settings.blob_account_url
    parts: dict[str, str] = {}
    for item in settings.storage_connection.split(";"):
        name, _, value = item.partition("=")
        parts[name.strip().lower()] = value.strip()
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        return DEVELOPMENT_BLOB_ENDPOINT
    if parts.get("blobendpoint"):
        return parts["blobendpoint"].split("?", 1)[0].rstrip("/")
    protocol = parts.get("defaultendpointsprotocol", "https")
    suffix = parts.get("endpointsuffix", "core.windows.net")
    return f"{protocol}://{parts.get('accountname', '')}.blob.{suffix}"
