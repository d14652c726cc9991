"""The knobs of one sandbox organisation: who may call it and how strictly it behaves."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from syncengine.errors import ConfigError

# The contact types every organisation has; an org may add its own subtypes on top.
BUILTIN_CONTACT_TYPES = ("Household", "Organization", "Foundation")


class PutSemantics(StrEnum):
    """How a PUT treats what its body leaves out (the sources disagree: see crmplus-api.md)."""

    REPLACE = "replace"  # the published spec: omitted fields and items are cleared or dropped
    PATCH = "patch"  # the vendor's guide: omitted fields and items are kept

    @classmethod
    def parse(cls, value: str) -> PutSemantics:
        """The semantics named ``value`` ("replace"/"patch"), or a ConfigError naming the option."""
        try:
            return cls(value)
        except ValueError:
            raise ConfigError("put_semantics", "must be 'replace' or 'patch'") from None


@dataclass(frozen=True)
class SandboxSettings:
    """Everything that shapes the sandbox's behaviour but is not CRM data."""

    token: str
    # The default is the unforgiving reading: a client correct under it is correct under both.
    put_semantics: PutSemantics = PutSemantics.REPLACE
    hourly_limit: int = 5000
    # The length of the rate-limit window ``hourly_limit`` counts in: an hour, as CRM+'s.
    # Shorter only to compress time in a rehearsal or a benchmark (bench/budget_use.py):
    # the windows stay aligned to multiples of it, the headers and Retry-After follow it.
    window_seconds: float = 3600.0
    # Test hooks (seeding, faults, out-of-band edits) are never on unless asked for.
    test_hooks: bool = False
    # Query/FullContact answers 500 past this skip, as integrators report of the live API.
    max_skip: int = 10_000
    # Whether Query/FullContact lists contacts merged away (pointer mode), carrying
    # mergedIntoContactId: integrators see them there; False leaves them out, as lookups
    # (Find) always do, for rehearsing a CRM+ that hides them.
    merged_in_queries: bool = True
    # How long an accepted Contact transaction waits before it is applied (CRM+ runs
    # imports in a nightly batch): due ones are applied on the next API request.
    import_delay_seconds: float = 86_400.0
    contact_subtypes: tuple[str, ...] = ()
    api_user: str = "Sandbox API User"
    ui_user: str = "Sandbox UI User"

    def __post_init__(self) -> None:
        # ConfigError names the option, so the CLI can say which one to fix.
        if not self.token:
            raise ConfigError("token", "the sandbox needs a non-empty API token")
        if self.hourly_limit < 1:
            raise ConfigError("hourly_limit", "must be at least 1")
        if not 1 <= self.window_seconds <= 86_400:
            raise ConfigError("window_seconds", "must be between 1 and 86400 seconds")
        if self.import_delay_seconds < 0:
            raise ConfigError("import_delay_seconds", "must not be negative")
        if self.max_skip < 0:
            raise ConfigError("max_skip", "must not be negative")
        # Accept the plain strings a CLI passes ("patch") as well as the enum.
        object.__setattr__(self, "put_semantics", PutSemantics.parse(self.put_semantics))

    @property
    def contact_types(self) -> frozenset[str]:
        """Every ``contactType`` a write may use."""
        return frozenset(BUILTIN_CONTACT_TYPES) | frozenset(self.contact_subtypes)
