"""Status codes keep S²LOW's numbers; the transition table is plain data."""

import pytest

from emegalis.actes import protocol as p
from emegalis.actes.protocol.statuses import ACTIONS_BY_STATUS, STATUS_LABELS, TRANSITION_LIST

S = p.ActStatus


def test_numbers_and_labels_of_the_brief():
    expected = {
        -1: "Erreur",
        0: "Annulé",
        1: "Posté",
        2: "En attente de transmission",
        3: "Transmis",
        4: "Acquittement reçu",
        5: "Validé",
        6: "Refusé",
        7: "Document reçu",
        8: "Acquittement envoyé",
        16: "Détruite",
        17: "En attente d'être postée",
        18: "En attente d'être signée",
        21: "Document reçu (pas d'AR)",
    }
    for code, label in expected.items():
        assert S(code).label == label
    assert [int(s) for s in S] == list(range(-1, 23))
    assert set(STATUS_LABELS) == set(S)


def test_main_path_of_an_act():
    path = [
        S.EN_ATTENTE_SIGNATURE,
        S.EN_ATTENTE_POSTEE,
        S.POSTE,
        S.EN_ATTENTE_TRANSMISSION,
        S.TRANSMIS,
        S.ACQUITTEMENT_RECU,
        S.VALIDE,
    ]
    for a, b in zip(path, path[1:], strict=False):
        assert p.can_transition(a, b)
        assert p.check_transition(a, b) == b
    assert S.EN_ATTENTE_SIGNATURE in p.INITIAL_STATUSES


def test_forbidden_transitions_get_a_french_message():
    with pytest.raises(p.TransitionError) as exc:
        p.check_transition(S.TRANSMIS, S.VALIDE)
    assert exc.value.message == (
        "Changement de statut interdit : « Transmis » (3) → « Validé » (5)."
    )
    assert not p.can_transition(S.POSTE, S.ANNULE)  # cancellation only after the AR
    assert p.can_transition(S.ACQUITTEMENT_RECU, S.ANNULE)
    assert not p.can_transition(S.ACQUITTEMENT_RECU, S.ERREUR)  # anomaly after AR: parked
    assert not p.can_transition(S.ERREUR, S.POSTE)  # resubmit = a new transaction
    with pytest.raises(p.TransitionError, match="Statut inconnu"):
        p.check_transition(3, 99)


def test_table_is_consistent():
    for t in TRANSITION_LIST:
        assert t.target in p.TRANSITIONS[t.source]
        assert t.trigger
    assert all(isinstance(v, frozenset) for v in p.TRANSITIONS.values())
    assert ACTIONS_BY_STATUS[S.ACQUITTEMENT_RECU] >= {"cancel", "download_stamped"}


def test_closed_rule():
    assert p.is_closed(1, -1) and p.is_closed(1, 0)
    assert not p.is_closed(1, 4) and p.is_closed(1, 5)
    assert not p.is_closed(7, 2) and p.is_closed(7, 3)


def test_incoming_effects_cover_every_message_from_the_prefecture():
    incoming = {m.code for m in p.MESSAGE_TYPES if m.direction == "PREF→CL"}
    assert set(p.INCOMING_EFFECTS) == incoming
    assert p.INCOMING_EFFECTS["3-1"].automatic_reply == "3-2"
    assert p.INCOMING_EFFECTS["4-1"].automatic_reply == "4-2"
    assert p.INCOMING_EFFECTS["1-3"].expected_status == S.TRANSMIS
    assert p.TransactionType(5).label == "Déféré au tribunal administratif"
