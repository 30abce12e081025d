"""A customer's rights under APPI (個人情報保護法): disclosure of everything held about them (開示), erasure
(利用停止・消去) that leaves an anonymous tombstone for the dashboard's counts, and the retention of chat texts.

`holdings` declares, table by table, how a customer's rows are found and what erasure does to them; a table
declared nowhere stops export and erasure (and a unit test), so a table added later cannot be forgotten.
"""
