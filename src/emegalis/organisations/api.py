from ninja import Router, Schema

from emegalis.core.api_errors import AUTH, READ, errors

from . import selectors

router = Router(tags=["organisations"])


class OrganisationOut(Schema):
    id: int
    name: str
    kind: str
    siren: str
    siret: str
    insee_nature: str
    departement: str
    arrondissement: int | None
    parent_id: int | None


class MeOut(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    active_organisation_id: int | None
    organisations: list[int]


class MemberOut(Schema):
    user_id: int
    email: str
    first_name: str
    last_name: str
    roles: list[str]
    is_active: bool


@router.get("/me", response={200: MeOut, **errors(*AUTH)})
def me(request):
    user = request.user
    return {
        "id": user.pk,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "active_organisation_id": getattr(request.organisation, "pk", None),
        "organisations": [m.organisation_id for m in request.memberships],
    }


@router.get("/organisations", response={200: list[OrganisationOut], **errors(*AUTH)})
def list_organisations(request):
    return selectors.organisations_visible_to(request.user).distinct().order_by("name")


@router.get("/organisations/{pk}", response={200: OrganisationOut, **errors(*READ)})
def get_organisation(request, pk: int):
    return selectors.get_organisation(request.user, pk)


@router.get("/organisations/{pk}/users", response={200: list[MemberOut], **errors(*READ)})
def list_members(request, pk: int):
    return [
        {
            "user_id": m.user_id,
            "email": m.user.email,
            "first_name": m.user.first_name,
            "last_name": m.user.last_name,
            "roles": [r.role for r in m.roles.all()],
            "is_active": m.is_active,
        }
        for m in selectors.members_of(request.user, pk)
    ]
