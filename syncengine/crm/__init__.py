"""The CRM+ (Virtuous) client adapter: implements ``syncengine.domain.ports.CrmPort``.

- ``client``: ``CrmClient``, the endpoints, one path for every call.
- ``auth``: API key and ``POST /Token`` password-grant authentication; ``Secret``.
- ``retry``: what is retried and after how long (``RetryPolicy``).
- ``ratelimit``: the shared hourly budget and its reserve (``RateLimitPolicy``).
- ``translate``: HTTP statuses and transport failures -> ``syncengine.errors``, in one place.
"""

from syncengine.crm.auth import ApiKeyAuth, PasswordGrantAuth, Secret
from syncengine.crm.client import MAX_TAKE, CrmClient, Timeouts
from syncengine.crm.ratelimit import RateLimitPolicy
from syncengine.crm.retry import RetryPolicy

__all__ = [
    "MAX_TAKE",
    "ApiKeyAuth",
    "CrmClient",
    "PasswordGrantAuth",
    "RateLimitPolicy",
    "RetryPolicy",
    "Secret",
    "Timeouts",
]
