"""Reads upstream's HyperPyYAML flow config (`ckpt/flow/config.yaml`) into plain dataclasses.

The file is YAML with HyperPyYAML tags (`!new:flow.flow.Flow`, `!apply:setattr [...]`, `!ref <name>`).
We never import or instantiate the named classes: our PyYAML constructors turn each tag into inert data,
then we resolve references and read the Flow keyword arguments (key `flow`). Upstream's Flow ignores any
DiT size and derives the estimator from `big_model`; a config may still swap the estimator with
`!apply:setattr [!ref <flow>, estimator, <a DiT>]` (the tiny test fixture does), which we honour.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FLOW_CLASS = "flow.flow.Flow"
DIT_CLASS = "flow.dit.DiT"
SPEAKER_EMBEDDING_DIM = 192  # CAM++ output size, fixed by upstream


@dataclass(frozen=True)
class DiTConfig:
    """Keyword arguments of upstream's `flow.dit.DiT` (defaults = its signature's defaults)."""

    trans_dim: int
    depth: int = 8
    heads: int = 8
    dim_head: int = 64
    dropout: float = 0.1
    ff_mult: float = 4
    mel_dim: int = 80
    text_vocab_size: int = 100000
    text_emb_dim: int | None = None
    conv_layers: int = 0
    long_skip_connection: bool = False
    condition_dim: int = 0
    attention_mask_type: str | None = None
    spkr_emb_adaLN: bool = False  # upstream's keyword name
    wav_lm_emb: bool = False


@dataclass(frozen=True)
class FlowConfig:
    """Keyword arguments of upstream's `flow.flow.Flow` plus the DiT it ends up with."""

    speech_token_dim: int = 512
    vocab_size: int = 100000
    input_frame_rate: float = 12.5
    spk_embed_dim: int = 80
    mel_dim: int = 80
    big_model: bool = False
    spkr_emb_adaLN: bool = False  # upstream's keyword name
    calc_prompt_mel_loss: bool = True
    speech_token_cfg: bool = True
    use_wavlm_emb: bool = False
    remove_spkr_concat_condition: bool = False
    t_scheduler: str = "cosine"
    loss_type: str = "l2"
    use_mdt: bool = False
    mel_framerate: float = 86
    # Fixed in Flow.__init__, not configurable there.
    inference_cfg_rate: float = 0.7
    dit: DiTConfig | None = None

    @property
    def estimator(self) -> DiTConfig:
        return self.dit if self.dit is not None else derived_dit_config(self)


@dataclass(frozen=True)
class _Tagged:
    """A `!new:` / `!apply:` / `!name:` node, kept as data."""

    kind: str
    target: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class _Ref:
    expr: str
    copy: bool = False


class _HyperLoader(yaml.SafeLoader):
    """SafeLoader that knows HyperPyYAML's tags; any other tag is an error."""


def _construct_tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node, kind: str) -> _Tagged:
    if isinstance(node, yaml.MappingNode):
        kwargs = loader.construct_mapping(node, deep=True)
        return _Tagged(kind, suffix, (), {str(key): value for key, value in kwargs.items()})
    if isinstance(node, yaml.SequenceNode):
        return _Tagged(kind, suffix, tuple(loader.construct_sequence(node, deep=True)), {})
    value = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else ""
    return _Tagged(kind, suffix, (value,) if value != "" else (), {})


def _scalar(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(None, None, f"{node.tag} needs a scalar", node.start_mark)
    return str(loader.construct_scalar(node))


def _construct_ref(loader: yaml.SafeLoader, node: yaml.Node) -> _Ref:
    return _Ref(_scalar(loader, node))


def _construct_copy(loader: yaml.SafeLoader, node: yaml.Node) -> _Ref:
    return _Ref(_scalar(loader, node), copy=True)


def _construct_tuple(loader: yaml.SafeLoader, node: yaml.Node) -> tuple[Any, ...]:
    if not isinstance(node, yaml.SequenceNode):
        raise yaml.constructor.ConstructorError(None, None, "!tuple needs a sequence", node.start_mark)
    return tuple(loader.construct_sequence(node, deep=True))


for _kind in ("new", "apply", "name"):
    _HyperLoader.add_multi_constructor(
        f"!{_kind}:", lambda loader, suffix, node, kind=_kind: _construct_tagged(loader, suffix, node, kind))
_HyperLoader.add_constructor("!ref", _construct_ref)
_HyperLoader.add_constructor("!copy", _construct_copy)
_HyperLoader.add_constructor("!tuple", _construct_tuple)


def load_flow_config(path: str | Path) -> FlowConfig:
    """Parse a flow config.yaml; ValueError for anything upstream's Flow loader would not build."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        raw = yaml.load(text, Loader=_HyperLoader)  # our loader only builds inert data
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not a HyperPyYAML flow config: {exc}") from exc
    if not isinstance(raw, dict) or "flow" not in raw:
        raise ValueError(f"{path}: no top-level `flow` key")
    resolved = _resolve_tree(raw)
    flow = resolved["flow"]
    if not isinstance(flow, _Tagged) or flow.kind != "new" or flow.target != FLOW_CLASS:
        raise ValueError(f"{path}: `flow` must be `!new:{FLOW_CLASS}`")
    config = _build(FlowConfig, flow, exclude={"inference_cfg_rate", "dit"})
    estimator = _installed_estimator(resolved, flow)
    return dataclasses.replace(config, dit=estimator) if estimator is not None else config


def derived_dit_config(config: FlowConfig) -> DiTConfig:
    """The DiT that upstream's Flow.__init__ builds: its size depends only on `big_model`."""
    condition_dim = config.mel_dim if config.remove_spkr_concat_condition else config.mel_dim + config.spk_embed_dim
    return DiTConfig(trans_dim=1024 if config.big_model else 768, depth=22 if config.big_model else 18,
                     heads=16 if config.big_model else 12, ff_mult=2, text_emb_dim=config.speech_token_dim,
                     conv_layers=4, mel_dim=config.mel_dim, text_vocab_size=config.vocab_size,
                     condition_dim=condition_dim, spkr_emb_adaLN=config.spkr_emb_adaLN,
                     wav_lm_emb=config.use_wavlm_emb)


def _installed_estimator(resolved: dict[str, Any], flow: _Tagged) -> DiTConfig | None:
    """The DiT put in place by a top-level `!apply:setattr [<flow>, estimator, !new:flow.dit.DiT]`, if any."""
    found: DiTConfig | None = None
    for key, node in resolved.items():
        if not isinstance(node, _Tagged) or node.kind != "apply":
            continue
        if node.target != "setattr" or len(node.args) != 3 or node.kwargs:
            raise ValueError(f"`{key}`: only `!apply:setattr [target, name, value]` is supported")
        target, attribute, value = node.args
        if target is not flow:
            raise ValueError(f"`{key}`: setattr on something other than `flow` is not supported")
        if attribute != "estimator" or not isinstance(value, _Tagged) or value.target != DIT_CLASS:
            raise ValueError(f"`{key}`: only replacing flow.estimator with `!new:{DIT_CLASS}` is supported")
        found = _build(DiTConfig, value)  # the last setattr wins, as when HyperPyYAML applies them in order
    return found


def _build(cls: type[Any], node: _Tagged, exclude: frozenset[str] | set[str] = frozenset()) -> Any:
    if node.kind != "new" or node.args:
        raise ValueError(f"`!{node.kind}:{node.target}` must be `!new:` with keyword arguments only")
    names = {field.name for field in dataclasses.fields(cls)} - set(exclude)
    unknown = sorted(set(node.kwargs) - names)
    if unknown:
        raise ValueError(f"{node.target} got unsupported argument(s): {', '.join(unknown)}")
    nested = sorted(key for key, value in node.kwargs.items() if not isinstance(value, int | float | str | None))
    if nested:
        raise ValueError(f"{node.target}: argument(s) {', '.join(nested)} must be plain numbers, booleans or strings")
    try:
        return cls(**node.kwargs)
    except TypeError as exc:
        raise ValueError(f"{node.target}: {exc}") from exc


def _resolve_tree(raw: dict[str, Any]) -> dict[str, Any]:
    """Replace every `!ref`/`!copy` by its target and reject classes we do not model."""
    done: dict[str, Any] = {}

    def resolve(value: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(value, _Ref):
            result = _evaluate_ref(value.expr, lambda name: top(name, stack))
            return copy.deepcopy(result) if value.copy else result
        if isinstance(value, _Tagged):
            _check_target(value)
            return _Tagged(value.kind, value.target, tuple(resolve(a, stack) for a in value.args),
                           {k: resolve(v, stack) for k, v in value.kwargs.items()})
        if isinstance(value, dict):
            return {k: resolve(v, stack) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(resolve(v, stack) for v in value)
        return value

    def top(name: str, stack: tuple[str, ...]) -> Any:
        if name in stack:
            raise ValueError(f"circular !ref through `{name}`")
        if name not in raw:
            raise ValueError(f"!ref to unknown key `{name}`")
        if name not in done:
            done[name] = resolve(raw[name], (*stack, name))
        return done[name]

    return {key: top(key, ()) for key in raw}


def _check_target(node: _Tagged) -> None:
    allowed = {("new", FLOW_CLASS), ("new", DIT_CLASS), ("apply", "setattr")}
    if (node.kind, node.target) not in allowed:
        raise ValueError(f"unsupported tag `!{node.kind}:{node.target}` in flow config")


_REF_TOKEN = re.compile(r"<([^<>]+)>")
_OPERATORS: dict[type[ast.AST], Any] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                                        ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv,
                                        ast.Pow: operator.pow, ast.Mod: operator.mod, ast.USub: operator.neg}


def _evaluate_ref(expr: str, lookup: Any) -> Any:
    """`<name>`, `<name[key]>` or simple arithmetic over such references (HyperPyYAML's `!ref` forms)."""
    expr = expr.strip()
    whole = _REF_TOKEN.fullmatch(expr)
    if whole:
        return _lookup_path(whole.group(1), lookup)
    values: list[Any] = []

    def substitute(match: re.Match[str]) -> str:
        values.append(_lookup_path(match.group(1), lookup))
        return f"__ref{len(values) - 1}"

    source = _REF_TOKEN.sub(substitute, expr)
    try:
        return _arithmetic(ast.parse(source, mode="eval").body, values)
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError) as exc:
        raise ValueError(f"unsupported !ref expression `{expr}`: {exc}") from exc


def _lookup_path(path: str, lookup: Any) -> Any:
    name, *keys = re.split(r"[\[\]]+", path.strip().rstrip("]"))
    value = lookup(name.strip())
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise ValueError(f"!ref <{path}>: no key `{key}`")
        value = value[key]
    return value


def _arithmetic(node: ast.AST, values: list[Any]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.Name) and node.id.startswith("__ref"):
        return values[int(node.id[5:])]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_arithmetic(node.left, values), _arithmetic(node.right, values))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_arithmetic(node.operand, values))
    raise ValueError(f"unsupported element {ast.dump(node)}")
