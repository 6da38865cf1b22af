"""Every code the API answers has a sentence in both of the storefront's languages."""

from __future__ import annotations

import inspect

from cloudmall.domain import errors, reservations
from cloudmall.services.password_policy import REASONS as PASSWORD_REASONS
from cloudmall.web.errors import PROBLEM_REASONS, WEB_CODES
from tests.storefront_texts import labels, missing


def _error_tree() -> list[type[errors.CloudmallError]]:
    """Every error of errors.py, and those a domain module keeps beside its concept."""
    return [
        value
        for module in (errors, reservations)
        for _, value in inspect.getmembers(module, inspect.isclass)
        if issubclass(value, errors.CloudmallError) and value.__module__ == module.__name__
    ]


def test_the_labels_are_read_from_both_dictionaries() -> None:
    texts = labels()
    assert texts["ko"]["api.not_found"] != texts["en"]["api.not_found"]
    assert len(texts["ko"]) > 200


def test_both_languages_have_the_same_labels() -> None:
    """Except the plural forms Korean does not have (Intl.PluralRules gives it only "other")."""
    ko, en = ({k for k in labels()[lang] if not k.endswith(".one")} for lang in ("ko", "en"))
    assert (sorted(ko - en), sorted(en - ko)) == ([], [])


def test_every_code_in_the_error_tree_has_both_translations() -> None:
    tree = _error_tree()
    assert errors.CategoryNotEmpty in tree and len(tree) >= 20
    assert {
        error.code: missing(f"api.{error.code}") for error in tree if missing(f"api.{error.code}")
    } == {}


def test_every_code_the_web_layer_answers_has_both_translations() -> None:
    codes = {*WEB_CODES, "network", "unavailable"}  # the last two: api.js, without an answer
    assert {code: missing(f"api.{code}") for code in codes if missing(f"api.{code}")} == {}


def test_every_problem_reason_has_both_translations() -> None:
    reasons = {f"problem.{reason}" for reason in PROBLEM_REASONS}
    reasons |= {f"error.password.{reason}" for reason in PASSWORD_REASONS}
    assert {key: missing(key) for key in reasons if missing(key)} == {}


def test_a_missing_translation_is_found() -> None:
    assert missing("api.no_such_code") == ["ko", "en"]


def _invalid_input_reasons() -> dict[str, str]:
    """Every `InvalidInput(..., reason="...")` in the package: reason → where."""
    import ast
    from pathlib import Path

    import cloudmall

    found: dict[str, str] = {}
    for path in Path(cloudmall.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "InvalidInput"
            ):
                for keyword in node.keywords:
                    if keyword.arg == "reason" and isinstance(keyword.value, ast.Constant):
                        found[str(keyword.value.value)] = f"{path.name}:{node.lineno}"
    return found


def test_every_reason_a_rule_gives_has_both_translations() -> None:
    reasons = _invalid_input_reasons()
    assert {"unknown_category", "not_above_price"} <= set(reasons)
    assert {
        where: reason for reason, where in reasons.items() if missing(f"problem.{reason}")
    } == {}


def test_every_label_the_pages_name_exists_in_both_languages() -> None:
    """`t("key")` and `tn("key", n)` with a literal key, in every script of the storefront."""
    import re
    from pathlib import Path

    scripts = Path(errors.__file__).parents[1] / "web" / "static" / "js"
    used = set()
    for script in scripts.rglob("*.js"):
        text = script.read_text(encoding="utf-8")
        used |= set(re.findall(r'\bt\(\s*"([^"$]+)"', text))
        used |= {f"{key}.other" for key in re.findall(r'\btn\(\s*"([^"$]+)"', text)}
    assert len(used) > 200
    assert {key: missing(key) for key in sorted(used) if missing(key)} == {}
