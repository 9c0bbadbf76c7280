"""The paths dictated by existing client software (S²LOW-style), mounted at the site root."""

from django.urls import path

from emegalis.actes.s2low import views

M = "modules/actes/"


urlpatterns = [
    path(f"{M}actes_transac_create.php", views.create, name="s2low_create"),
    path(f"{M}actes_transac_get_status.php", views.get_status, name="s2low_status"),
    path(f"{M}actes_transac_get_files_list.php", views.files_list, name="s2low_files"),
    path(f"{M}actes_download_file.php", views.download_file, name="s2low_download"),
    path(f"{M}actes_transac_get_tampon.php", views.get_tampon, name="s2low_tampon"),
    path(f"{M}actes_transac_get_ARActe.php", views.get_ar_acte, name="s2low_aracte"),
    path(f"{M}actes_transac_cancel.php", views.cancel, name="s2low_cancel"),
    path(
        f"{M}actes_classification_request.php",
        views.classification_request,
        name="s2low_classif_req",
    ),
    path(
        f"{M}actes_classification_fetch.php", views.classification_fetch, name="s2low_classif_fetch"
    ),
    path(f"{M}actes_create_pdf.php", views.bordereau, name="s2low_bordereau"),
    path(f"{M}actes_transac_get_document.php", views.get_document, name="s2low_documents"),
    path(f"{M}actes_transac_reponse_create.php", views.reponse_create, name="s2low_reponse"),
    path(f"{M}actes_transac_post_confirm_api.php", views.post_confirm, name="s2low_confirm"),
    path(
        f"{M}actes_transac_post_confirm_api_multi.php",
        views.post_confirm_multi,
        name="s2low_confirm_multi",
    ),
    path(f"{M}api/actes_status.php", views.api_statuses, name="s2low_api_statuses"),
    path(f"{M}api/number_actes.php", views.api_number, name="s2low_api_number"),
    path(f"{M}api/list_actes.php", views.api_list, name="s2low_api_list"),
    path(f"{M}api/list_document_prefecture.php", views.api_documents, name="s2low_api_documents"),
    path(
        f"{M}api/document_prefecture_mark_as_read.php",
        views.api_mark_read,
        name="s2low_api_mark_read",
    ),
    path("api/test-connexion.php", views.test_connexion, name="s2low_test"),
    path("api/get-nounce.php", views.get_nounce, name="s2low_nounce"),
    path("api/info-connexion.php", views.info_connexion, name="s2low_info"),
    path("admin/users/api-list-login.php", views.list_login, name="s2low_list_login"),
]
