"""Events the insurer's systems push as they happen (資料請求, 見積, 来店予約, 契約 …): `POST /api/v1/events`.

Each event is checked against its JSON Schema (`schemas`), turned into the row its data file would carry
(`rows`) and written by the same code as the file imports (`apply`), every event of a request in one
transaction; an `Idempotency-Key` makes a retried request harmless (`idempotency`). `intake` runs the steps.
"""
