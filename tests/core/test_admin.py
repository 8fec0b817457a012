import pytest

from tests.conftest import sign_in
from vecinos.network.models import Member


@pytest.mark.django_db
def test_superuser_admin_lists_members_without_contact_details(client, personas):
    admin = Member.objects.create_superuser("root", "a long admin passphrase")
    sign_in(client, admin)
    listing = client.get("/admin/network/member/")
    assert listing.status_code == 200 and "newcomer" in listing.content.decode()
    page = client.get(f"/admin/network/member/{personas.newcomer.pk}/change/").content.decode()
    assert "+12135550105" not in page and "Newcomer Testperson" not in page
    assert client.get("/admin/core/auditevent/").status_code == 200


@pytest.mark.django_db
def test_admin_is_refused_to_non_staff(client, personas):
    sign_in(client, personas.coalition)
    response = client.get("/admin/network/member/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
