"""The providers file: which provider serves which model, with its URL, key and defaults.

Owns: reading the TOML file (where it is looked for, what each field means), matching a
model name to a provider, reading API keys from the environment or a file, and building
the provider objects. The local provider needs no file: it always serves local-* models.

    [providers.yisangyun]
    kind = "yisangyun"                 # openai | yisangyun | vibegen | zhaotou | local
    base_url = "https://api.example.com"
    key_env = "YISANGYUN_API_KEY"      # or key_file = "~/.config/draftrender/yisangyun.key"
    models = ["sora-2*", "veo3*"]      # names or shell-style patterns
    deadline = 900                     # seconds per job
    [providers.yisangyun.defaults]     # request fields used where the request leaves them unset
    size = "1280x720"
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..assets.fetch import default_cache_dir
from .base import GenerationError, GenerationRequest, InvalidGeneration, Provider, UnknownModel
from .local import MODELS as LOCAL_MODELS
from .local import LocalProvider
from .runner import Timing

PROVIDERS_ENV = "DRAFTRENDER_PROVIDERS"
Kind = Literal["openai", "yisangyun", "vibegen", "zhaotou", "local"]


class ProviderConfig(BaseModel):
    """One provider in the file."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    kind: Kind
    base_url: str = Field("", description="the API's root, e.g. https://api.openai.com (paths are the adapter's)")
    key_env: str | None = Field(None, description="the environment variable holding the API key")
    key_file: str | None = Field(None, description="a file holding the API key (its first line)")
    models: list[str] = Field(default_factory=list, description="model names or shell-style patterns it serves")
    timeout: float = Field(60.0, gt=0, description="seconds per HTTP request")
    retries: int = Field(4, ge=0, le=10, description="retries of one call on 429, 5xx and connection errors")
    backoff: float = Field(1.0, ge=0, description="seconds before the first retry; doubles, with jitter")
    max_backoff: float = Field(30.0, ge=0, description="the longest wait between retries (Retry-After may ask more)")
    deadline: float = Field(900.0, gt=0, description="seconds for a whole job, submit to download")
    poll_interval: float = Field(5.0, gt=0, description="seconds between polls at first")
    max_poll_interval: float = Field(30.0, gt=0)
    defaults: dict[str, Any] = Field(default_factory=dict, description="request fields for what a request leaves unset")

    def timing(self) -> Timing:
        return Timing(self.deadline, self.poll_interval, self.max_poll_interval)

    def serves(self, model: str) -> bool:
        return any(fnmatch.fnmatchcase(model.lower(), p.lower()) for p in self.models)

    def api_key(self) -> str:
        """The key, from key_env or key_file; never logged, never in an error message."""
        if self.key_env:
            key = os.environ.get(self.key_env, "").strip()
            if key:
                return key
        if self.key_file:
            path = Path(self.key_file).expanduser()
            try:
                key = path.read_text(encoding="utf-8").strip().splitlines()[0].strip() if path.stat().st_size else ""
            except OSError as e:
                raise InvalidGeneration(f"provider {self.name}: key_file {path} cannot be read: {e.strerror}",
                                        code="missing_key") from None
            if key:
                return key
        where = " or ".join(w for w in (f"${self.key_env}" if self.key_env else "",
                                        f"key_file {self.key_file}" if self.key_file else "") if w)
        where = where or "key_env or key_file in the providers file"
        raise InvalidGeneration(f"provider {self.name} has no API key: set {where}",
                                code="missing_key")

    def with_defaults(self, request: GenerationRequest) -> GenerationRequest:
        unset = {k: v for k, v in self.defaults.items() if k not in request.model_fields_set}
        return request.model_validate({**request.model_dump(exclude_unset=True), **unset}) if unset else request


LOCAL = ProviderConfig(name="local", kind="local", models=[*LOCAL_MODELS], deadline=600.0, poll_interval=0.2,
                       max_poll_interval=1.0)


def default_path() -> Path:
    env = os.environ.get(PROVIDERS_ENV)
    return Path(env).expanduser() if env else Path.home() / ".config" / "draftrender" / "providers.toml"


def load_configs(path: Path | None = None) -> list[ProviderConfig]:
    """The configured providers in file order, then the built-in local one.

    `path` None reads the default file ($DRAFTRENDER_PROVIDERS, else
    ~/.config/draftrender/providers.toml) when it exists; a named file must exist.
    """
    explicit = path is not None
    path = Path(path) if path is not None else default_path()
    if not path.exists():
        if explicit or os.environ.get(PROVIDERS_ENV):
            raise InvalidGeneration(f"providers file {path} does not exist", code="no_providers_file")
        return [LOCAL]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InvalidGeneration(f"providers file {path} cannot be read: {e}", code="bad_providers_file") from None
    configs = []
    for name, table in (data.get("providers") or {}).items():
        try:
            configs.append(ProviderConfig.model_validate({**table, "name": name}))
        except ValidationError as e:
            first = e.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise InvalidGeneration(f"providers file {path}: [providers.{name}] {field}: {first['msg']}",
                                    code="bad_providers_file") from None
    if not any(c.kind == "local" for c in configs):
        configs.append(LOCAL)
    return configs


def config_for(model: str, configs: list[ProviderConfig]) -> ProviderConfig:
    for c in configs:
        if c.serves(model):
            return c
    served = ", ".join(p for c in configs for p in c.models)
    raise UnknownModel(f"no provider serves model {model!r} (configured: {served}); add it to a provider's "
                       f"models in the providers file", code="unknown_model")


def build(config: ProviderConfig, cache_dir: Path | None = None) -> Provider:
    """The provider object for a config. The local one works under <cache dir>/generated/local."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    if config.kind == "local":
        return LocalProvider(cache / "generated" / config.name, cache_dir=cache, name=config.name)
    if not config.base_url:
        raise GenerationError(f"provider {config.name} has no base_url in the providers file",
                              code="bad_providers_file")
    # The HTTP adapters are imported only when a remote provider is used.
    if config.kind == "vibegen":
        from .vibegen import Vibegen
        return Vibegen(config)
    if config.kind == "zhaotou":
        from .zhaotou import Zhaotou
        return Zhaotou(config)
    from .openai_videos import OpenAIVideos, YisangyunVideos
    return (YisangyunVideos if config.kind == "yisangyun" else OpenAIVideos)(config)
