"""The one customer finder of the operator CLI and the admin chat (bot/staff/finder.py): a customer is found by
顧客ID, email address, phone number, LINE user id (on the record or in the LINE members file) or internal id, and
a key naming several customers gives them all, never the first."""

from __future__ import annotations

from sqlalchemy import func, insert, select, update

from bot.staff.finder import MATCHES_SHOWN, find_customers, outcome
from models import AdminAudit, Coupon, Customer, LineMembership, utcnow
from tests.integration.delivery_helpers import add_customer, line_id
from tests.integration.test_account_link import campaign


def set_code(runtime, customer_id: int, code: str) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(update(Customer).where(Customer.id == customer_id).values(customer_code=code))


def found(runtime, key: str) -> list[int]:
    with runtime.engine.connect() as connection:
        return find_customers(connection, key)


def test_every_kind_of_key_finds_the_customer(runtime):
    """顧客ID, email (any case), phone (as typed by staff, read as the importer reads it), the LINE user id on the
    record or only in the members file (F7), and the internal id (plain or as id:N) each name the customer."""
    line, member = line_id(), line_id()
    taro = add_customer(runtime, line=line, phone="+819012345678", email="Taro@example.jp")
    set_code(runtime, taro, "C100")
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(LineMembership.__table__).values(
                line_user_id=member, customer_id=taro, updated_at=utcnow()
            )
        )
    for key in (
        "C100",
        " Ｃ１００ ",  # full-width, as Excel users type it
        "taro@example.jp",
        "TARO@EXAMPLE.JP",
        "090-1234-5678",
        "09012345678",
        "090 1234 5678",
        "０９０－１２３４－５６７８",
        "+81 90-1234-5678",
        line,
        member,
        str(taro),
        f"id:{taro}",
        f"ID: {taro}",
    ):
        assert found(runtime, key) == [taro], key


def test_a_key_that_names_nobody_finds_nobody(runtime):
    """Unknown keys, numbers too long for an id, 0-led numbers (no internal id), and nonsense find nobody."""
    add_customer(runtime, phone="+819012345678")
    for key in (
        "C404",
        "nobody@example.jp",
        "080-0000-0000",
        "99999999999",
        "0042",
        "id:abc",
        "id:",
        "",
        "٣",
    ):
        assert found(runtime, key) == [], key
    assert outcome([]) == "not_found"


def test_several_customers_on_one_key_are_all_given(runtime):
    """One phone number on two records gives both; so does a numeric 顧客ID that is another customer's internal
    id (id:N then means the internal id alone); the list stops one past what is shown."""
    first = add_customer(runtime, phone="+819012345678")
    second = add_customer(runtime, phone="+819012345678", family_name="佐藤")
    assert found(runtime, "090-1234-5678") == [first, second]
    assert outcome([first, second]) == "ambiguous"
    set_code(runtime, second, str(first))
    assert found(runtime, str(first)) == [first, second]
    assert found(runtime, f"id:{first}") == [first]
    many = [add_customer(runtime, email="family@example.jp") for _ in range(MATCHES_SHOWN + 3)]
    assert found(runtime, "family@example.jp") == many[: MATCHES_SHOWN + 1]


def audit_rows(runtime) -> list[tuple]:
    with runtime.engine.connect() as connection:
        columns = (AdminAudit.command, AdminAudit.result, AdminAudit.detail, AdminAudit.personal_data)
        return [tuple(row) for row in connection.execute(select(*columns).order_by(AdminAudit.id))]


def test_every_cli_command_taking_a_customer_uses_the_finder(app, runtime):
    """`flask why`, `customers export|unlink|erase` and `coupons issue` find a customer by phone, email or LINE
    user id as well as 顧客ID; a phone number on two records is refused with both to choose from (audited as
    ambiguous where the look-up is audited), and nothing is exported, unlinked, erased or issued."""
    line = line_id()
    taro = add_customer(runtime, line=line, phone="+819012345678", email="taro@example.jp")
    set_code(runtime, taro, "C100")
    twins = [add_customer(runtime, phone="+818011112222") for _ in range(2)]
    set_code(runtime, twins[0], "C201")
    campaign(runtime, "VISIT")
    cli = app.test_cli_runner()
    assert cli.invoke(args=["why", "090-1234-5678", "--by", "staff-7"]).exit_code == 0
    exported = cli.invoke(args=["customers", "export", "TARO@example.jp", "--by", "staff-7"])
    assert exported.exit_code == 0 and f'"customer_id": {taro}' in exported.output
    assert cli.invoke(args=["coupons", "issue", "VISIT", line]).exit_code == 0
    for command in (
        ["why", "080-1111-2222", "--by", "staff-7"],
        ["customers", "export", "080-1111-2222", "--by", "staff-7"],
        ["customers", "unlink", "080-1111-2222", "--by", "staff-7", "--yes"],
        ["customers", "erase", "080-1111-2222", "--by", "staff-7", "--yes"],
        ["coupons", "issue", "VISIT", "080-1111-2222"],
    ):
        refused = cli.invoke(args=command)
        assert refused.exit_code == 1, command
        assert "「080-1111-2222」に該当する顧客が複数います" in refused.output, command
        assert f"顧客ID C201（内部ID {twins[0]}）" in refused.output
        assert f"顧客ID未登録（内部ID {twins[1]}）" in refused.output
    nobody = cli.invoke(args=["why", "nobody@example.jp"])
    assert nobody.exit_code == 1 and "顧客「nobody@example.jp」は見つかりません" in nobody.output
    both = f"customers {twins[0]},{twins[1]}"
    assert audit_rows(runtime) == [
        ("why", "done", f"customer {taro}", True),
        ("export", "done", f"customer {taro}", True),
        ("why", "ambiguous", both, True),
        ("export", "ambiguous", both, True),
        ("why", "not_found", "no customer", False),
    ]
    with runtime.engine.connect() as connection:
        assert connection.execute(select(Coupon.customer_id)).scalars().all() == [taro]
        erased = select(func.count()).where(Customer.erased_at.is_not(None))
        assert connection.execute(erased).scalar() == 0
