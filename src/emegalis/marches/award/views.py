"""Pages of the award phase, for the consultation's buyers (others get 404). Thin: the
award selectors read, services.py writes, forms_award.py validates."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from emegalis.core.downloads import pdf_attachment
from emegalis.core.forms import add_service_errors, error_messages
from emegalis.marches.award import selectors, services
from emegalis.marches.award.forms import (
    ContractForm,
    DecisionForm,
    EvaluationForm,
    criteria_formset,
)


def _lot_url(name: str, consultation, lot) -> str:
    return reverse(name, args=[consultation.pk, selectors.lot_number(lot)])


def _context(consultation, lot, **extra) -> dict:
    return {
        "consultation": consultation,
        "lot": lot,
        "lot_number": selectors.lot_number(lot),
        "lot_label": f"Lot {lot.number} — {lot.title}" if lot else "Marché unique",
        "decision": selectors.decision_of(consultation, lot),
        **extra,
    }


def _load(request, pk: int, number: int):
    consultation = selectors.get_award_consultation(request.user, pk)
    return consultation, selectors.get_lot(consultation, number)


@login_required
def home(request, pk: int):
    consultation = selectors.get_award_consultation(request.user, pk)
    return render(
        request,
        "marches/award_home.html",
        {
            "consultation": consultation,
            "lots": selectors.award_overview(consultation),
            "opened": selectors.opening_session(consultation) is not None,
        },
    )


@login_required
def criteria(request, pk: int, lot: int):
    consultation, lot = _load(request, pk, lot)
    existing = list(selectors.criteria_of(consultation, lot))
    formset = criteria_formset(criteria=existing)
    status = 200
    if request.method == "POST":
        try:
            if "default" in request.POST:
                services.set_default_criteria(
                    actor=request.user, consultation=consultation, lot=lot
                )
                messages.success(
                    request, "Critères par défaut enregistrés : prix 60 %, valeur technique 40 %."
                )
                return redirect(_lot_url("marches_award_analysis", consultation, lot))
            formset = criteria_formset(request.POST)
            if formset.is_valid():
                items = [f.criterion() for f in formset.forms]
                services.set_criteria(
                    actor=request.user,
                    consultation=consultation,
                    lot=lot,
                    criteria=[c for c in items if c is not None],
                )
                messages.success(request, "Critères d'attribution enregistrés.")
                return redirect(_lot_url("marches_award_analysis", consultation, lot))
        except (ValidationError, PermissionDenied) as exc:
            for text in error_messages(exc):
                messages.error(request, text)
        status = 400
    return render(
        request,
        "marches/award_criteria.html",
        _context(consultation, lot, formset=formset, criteria=existing),
        status=status,
    )


def _evaluation_forms(consultation, lot, criteria, bound=None):
    rows = []
    for row in selectors.offers(consultation, lot):
        prefix = f"o{row.pli.pk}"
        if bound is not None and bound.prefix == prefix:
            form = bound
        else:
            form = EvaluationForm.for_evaluation(row.evaluation, criteria=criteria, prefix=prefix)
        rows.append((row, form))
    return rows


@login_required
def analysis(request, pk: int, lot: int):
    consultation, lot = _load(request, pk, lot)
    criteria = list(selectors.criteria_of(consultation, lot))
    bound = None
    status = 200
    if request.method == "POST":
        pli = (
            selectors.candidate_plis(consultation, lot)
            .filter(pk=request.POST.get("pli") or 0)
            .first()
        )
        if pli is None:
            messages.error(request, "Offre introuvable pour ce lot.")
            status = 400
        else:
            bound = EvaluationForm(request.POST, criteria=criteria, prefix=f"o{pli.pk}")
            if bound.is_valid():
                data = bound.cleaned_data
                try:
                    services.save_evaluation(
                        actor=request.user,
                        consultation=consultation,
                        lot=lot,
                        pli=pli,
                        price=data["price"],
                        marks=bound.marks(),
                        excluded=data["excluded"],
                        exclusion_kind=data["exclusion_kind"],
                        exclusion_text=data["exclusion_text"],
                        comment=data["comment"],
                    )
                except (ValidationError, PermissionDenied) as exc:
                    add_service_errors(bound, exc)
                else:
                    messages.success(
                        request,
                        f"Analyse de l'offre de {pli.company_label} "
                        "enregistrée ; classement recalculé.",
                    )
                    return redirect(_lot_url("marches_award_analysis", consultation, lot))
            status = 400
    opened = selectors.opening_session(consultation) is not None
    return render(
        request,
        "marches/award_analysis.html",
        _context(
            consultation,
            lot,
            criteria=criteria,
            opened=opened,
            rows=_evaluation_forms(consultation, lot, criteria, bound) if opened else [],
        ),
        status=status,
    )


@login_required
def decision(request, pk: int, lot: int):
    consultation, lot = _load(request, pk, lot)
    form = DecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.decide(
                    actor=request.user,
                    consultation=consultation,
                    lot=lot,
                    outcome=form.cleaned_data["outcome"],
                    reason=form.cleaned_data["reason"],
                )
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Décision enregistrée ; le classement est figé.")
                return redirect(_lot_url("marches_award_letters", consultation, lot))
        status = 400
    return render(
        request,
        "marches/award_decision.html",
        _context(
            consultation,
            lot,
            form=form,
            rows=selectors.offers(consultation, lot),
            criteria=list(selectors.criteria_of(consultation, lot)),
        ),
        status=status,
    )


@login_required
def letters(request, pk: int, lot: int):
    consultation, lot = _load(request, pk, lot)
    current = selectors.decision_of(consultation, lot)
    status = 200
    if request.method == "POST":
        if current is None:
            messages.error(request, "Prenez d'abord la décision pour ce lot.")
            status = 400
        else:
            try:
                sent = services.send_letters(actor=request.user, decision=current)
            except (ValidationError, PermissionDenied) as exc:
                for text in error_messages(exc):
                    messages.error(request, text)
                status = 400
            else:
                messages.success(
                    request, f"{len(sent)} lettre(s) envoyée(s) par la messagerie sécurisée."
                )
                return redirect(_lot_url("marches_award_letters", consultation, lot))
    return render(
        request,
        "marches/award_letters.html",
        _context(
            consultation,
            lot,
            letters=selectors.letters_of(current) if current else [],
            refusal=services.notification_refusal(current) if current else "",
        ),
        status=status,
    )


@login_required
def letter_pdf(request, pk: int, letter_pk: int):
    letter = selectors.get_decision_letter(request.user, pk, letter_pk)
    return pdf_attachment(
        letter.pdf, f"{letter.kind}-{letter.pli.company_label}.pdf", missing="Lettre introuvable."
    )


@login_required
def notification(request, pk: int, lot: int):
    consultation, lot = _load(request, pk, lot)
    current = selectors.decision_of(consultation, lot)
    if current is None:
        messages.error(request, "Prenez d'abord la décision pour ce lot.")
        return redirect(reverse("marches_award_home", args=[consultation.pk]))
    form = ContractForm.with_defaults(current, request.POST or None)
    refusal = services.notification_refusal(current)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                contract = services.notify_contract(
                    actor=request.user, decision=current, **form.cleaned_data
                )
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Marché n° {contract.number} notifié au titulaire.")
                return redirect(reverse("marches_award_contracts", args=[consultation.pk]))
        status = 400
    return render(
        request,
        "marches/award_notification.html",
        _context(consultation, lot, form=form, refusal=refusal),
        status=status,
    )


@login_required
def contracts(request, pk: int):
    consultation = selectors.get_award_consultation(request.user, pk)
    return render(
        request,
        "marches/award_contracts.html",
        {"consultation": consultation, "contracts": selectors.contracts_of(consultation)},
    )
