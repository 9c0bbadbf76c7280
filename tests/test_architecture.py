"""The house rules hold (docs/architecture.md), and each rule does fail on a bad import."""

from tests.architecture_rules import (
    PUBLIC_MODULES,
    Import,
    _modules,
    _stage,
    app_cycles,
    broken_rules,
    declared_public,
)


def test_the_code_follows_the_house_rules():
    assert broken_rules() == []


def _flags(importer: str, target: str) -> list[str]:
    return broken_rules([Import(importer, target, 1)])


def test_core_importing_a_domain_app_is_refused():
    assert _flags("emegalis.core.views", "emegalis.marches.models") == [
        "emegalis.core.views:1 imports emegalis.marches.models: "
        "core is the shared kernel and imports no other app"
    ]


def test_marches_and_actes_do_not_import_each_other():
    assert _flags("emegalis.marches.models", "emegalis.actes.models")
    assert _flags("emegalis.actes.models", "emegalis.marches.models")


def test_a_lower_layer_may_not_import_a_higher_one():
    assert _flags("emegalis.organisations.views", "emegalis.adhesions.access")
    assert not _flags("emegalis.adhesions.access", "emegalis.organisations.models")


def test_prefecture_knows_actes_only_through_the_protocol():
    assert _flags("emegalis.prefecture.views", "emegalis.actes.models")
    assert not _flags("emegalis.prefecture.views", "emegalis.actes.protocol")
    assert not _flags("emegalis.prefecture.views", "emegalis.actes.protocol.statuses")


def test_an_app_missing_from_the_rules_is_refused():
    assert _flags("emegalis.nouveau.services", "emegalis.core.clock")


def test_apps_importing_each_other_form_a_reported_cycle():
    imports = [
        Import("emegalis.marches.services", "emegalis.actes.services", 1),
        Import("emegalis.actes.services", "emegalis.marches.services", 1),
    ]
    assert app_cycles(imports) == [["actes", "marches", "actes"]]
    assert any("cycle" in rule for rule in broken_rules(imports))


def test_a_stage_reaching_into_another_stages_private_module_is_refused():
    stages = {}
    for module in _modules():
        parts = module.split(".")
        public = PUBLIC_MODULES | declared_public(".".join(parts[:3]))
        if len(parts) == 4 and _stage(module) and parts[3] not in public:
            stages.setdefault(".".join(parts[:3]), []).append(module)
    assert len(stages) >= 2, "marches and actes are organised in sub-packages"
    first, second = sorted(stages)[:2]
    private = sorted(stages[first])[0]
    importer = f"{second}.views"
    (refusal,) = _flags(importer, private)
    assert refusal.startswith(
        f"{importer}:1 imports {private}: « {private.split('.')[-1]} » is private to "
        f"{'.'.join(first.split('.')[1:])}: use its models, selectors, services"
    )
    assert not _flags(importer, f"{first}.services")
