"""The groupement's part of a consultation's public page (marches.notice): who the members
are and what each one needs, as the candidates must know (docs/groupements.md, rule 16). The
page is public only once the consultation is published, so are these quantities."""

from django.template.loader import render_to_string

from .models import Need, Survey


def render(request, consultation) -> str:
    survey = (
        Survey.objects.select_related("groupement__coordinator")
        .filter(consultation_id=consultation.pk)
        .first()
    )
    if survey is None:
        return ""
    members = list(
        survey.participants.select_related("organisation").order_by("organisation__name")
    )
    quantities = {
        (n.item_id, n.member_id): n.quantity
        for n in Need.objects.filter(item__lot__survey=survey, member__in=members)
    }
    lots = []
    for lot in survey.lots.prefetch_related("items"):
        rows = []
        for item in lot.items.all():
            per_member = [quantities.get((item.pk, m.pk)) for m in members]
            total = sum((q for q in per_member if q is not None), start=0)
            rows.append({"item": item, "per_member": per_member, "total": total})
        lots.append({"lot": lot, "rows": rows})
    return render_to_string(
        "groupements/_notice_section.html",
        {"groupement": survey.groupement, "members": members, "lots": lots},
        request=request,
    )
