"""Reference tables behind the sample data files: the seven file layouts of the scenario deck (F1–F7) and the
small, fixed catalogues (names, prefectures, insurance products, stores, advisers, web pages, campaigns) that
`devtools.sample_data` draws realistic rows from. Pure data, no behaviour."""

from __future__ import annotations

from typing import NamedTuple

# The tables are laid out to be read against the deck, several entries a line.
# fmt: off
# Columns 2–10 of every file except F7: the channel block (email/MA, LINE, SMS, push), as named in the deck.
CHANNEL_COLUMNS = (
    "メールアドレス(メイン)",
    "メールアドレス(サブ)",
    "メルマガ許可フラグ",
    "LINE ID",
    "LINE配信許可フラグ",
    "SMS電話番号",
    "SMS配信許可フラグ",
    "FCMトークン",
    "アプリpush配信フラグ",
)
PERSON_COLUMNS = ("性別", "年代", "都道府県", "姓", "名")
PRODUCT_COLUMNS = ("商品種別ID", "商品種別", "商品ID", "商品名")
CURRENT_PRODUCT_COLUMNS = ("現在契約中の商品種別ID", "現在契約中の商品種別名", "現在契約中の商品ID", "現在契約中の商品名")
SAME_DAY_COLUMNS = ("当日 メールアドレスユニークフラグ", "当日 SMSユニークフラグ", "当日 LINE IDユニークフラグ")

FILE_TITLES: dict[str, str] = {
    "F1": "資料請求者向けシナリオ用データ",
    "F2": "見積者向けシナリオ用データ",
    "F3": "来店予約者向けシナリオ用データ",
    "F4": "サイト行動に応じたシナリオ用データ",
    "F5": "基本シナリオ配信用データ",
    "F6": "キャンペーン特典利用促進シナリオ配信用データ",
    "F7": "LINE連携促進用データ",
}

FILE_KINDS: dict[str, tuple[str, ...]] = {
    "F1": (
        "資料請求ID", *CHANNEL_COLUMNS, "資料ID", "資料名", "資料請求日", "資料請求からの経過日数",
        *PRODUCT_COLUMNS, "契約フラグ", *PERSON_COLUMNS, *SAME_DAY_COLUMNS,
    ),
    "F2": (
        "見積ID", *CHANNEL_COLUMNS, "見積日", "見積からの経過日数",
        *PRODUCT_COLUMNS, "契約フラグ", *PERSON_COLUMNS, *SAME_DAY_COLUMNS,
    ),
    "F3": (
        "来店予約ID", *CHANNEL_COLUMNS,
        "来店予約日", "来店予約からの経過日数", "来店予定日", "来店までの残日数",
        "来店フラグ", "来店日", "来店日からの経過日数",
        "来店キャンセルフラグ", "来店キャンセル日", "来店キャンセルからの経過日数",
        "来店再予約フラグ", "来店再予約日", "来店再予約からの経過日数",
        *PRODUCT_COLUMNS, "契約フラグ", *PERSON_COLUMNS,
        "店舗ID", "店舗名", "スタッフID", "スタッフ名", "相談内容", "相談のきっかけ", *SAME_DAY_COLUMNS,
    ),
    "F4": (
        "webアクセスログID", *CHANNEL_COLUMNS, "顧客ID", "ビジターID", "契約フラグ", *CURRENT_PRODUCT_COLUMNS,
        "ページタイトル", "ページURL", "閲覧日時", "閲覧日からの経過日数", *PERSON_COLUMNS,
    ),
    "F5": (
        "顧客ID", *CHANNEL_COLUMNS, *PERSON_COLUMNS,
        "資料請求フラグ", "初回資料請求日", "初回資料請求日からの経過日数",
        "見積フラグ", "初回見積日", "初回見積日からの経過日数",
        "生命保険契約フラグ", "損害保険契約フラグ", "現在契約中の商品種別名", "来店フラグ", "契約フラグ", "契約ステータス",
        "初回契約開始日", "初回契約開始からの経過日数", "契約終了日", "契約終了日からの経過日数",
        "次回契約更新日", "次回契約更新日までの残日数", "前回契約更新日", "前回契約更新日からの経過日数",
        "現在契約中の商品種別ID", "初回来店日", "初回来店日からの経過日数", "現在契約中の商品ID", "現在契約中の商品名",
        "解約した商品種別ID", "解約した商品種別名", "解約した商品ID", "解約した商品名",
        "累計更新回数", "累計支払金額", "メールアドレス取得フラグ", "LINEID 利用フラグ", "スマホアプリ利用フラグ",
    ),
    "F6": (
        "顧客ID‐キャンペーンID", *CHANNEL_COLUMNS, "顧客ID", "キャンペーンID", "キャンペーン名",
        "キャンペーン付与日", "キャンペーン付与日からの経過日数", "キャンペーン利用日",
        "キャンペーン特典付与フラグ", "キャンペーン特典利用フラグ", *PERSON_COLUMNS,
    ),
    "F7": (
        "LINE ID", "メールアドレス(メイン)", "メールアドレス(サブ)", "メルマガ許可フラグ", "顧客ID",
        "LINE配信許可フラグ", "LINE ID連携フラグ", "LINE会員登録日", "LINE会員登録からの経過日数",
    ),
}

# (kanji, romaji) — romaji builds the ASCII local part of sample email addresses.
FAMILY_NAMES = (
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"), ("伊藤", "ito"),
    ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"), ("小林", "kobayashi"), ("加藤", "kato"),
    ("吉田", "yoshida"), ("山田", "yamada"), ("佐々木", "sasaki"), ("山口", "yamaguchi"), ("松本", "matsumoto"),
    ("井上", "inoue"), ("木村", "kimura"), ("林", "hayashi"), ("斎藤", "saito"), ("清水", "shimizu"),
    ("山崎", "yamazaki"), ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"), ("阿部", "abe"),
    ("石川", "ishikawa"), ("山下", "yamashita"), ("中島", "nakajima"), ("石井", "ishii"), ("小川", "ogawa"),
    ("前田", "maeda"), ("岡田", "okada"), ("長谷川", "hasegawa"), ("藤田", "fujita"), ("後藤", "goto"),
    ("近藤", "kondo"), ("村上", "murakami"), ("遠藤", "endo"), ("青木", "aoki"), ("坂本", "sakamoto"),
    ("福田", "fukuda"), ("太田", "ota"), ("西村", "nishimura"), ("藤井", "fujii"), ("金子", "kaneko"),
    ("岡本", "okamoto"), ("藤原", "fujiwara"), ("中野", "nakano"), ("三浦", "miura"), ("原田", "harada"),
)
MALE_NAMES = (
    ("翔太", "shota"), ("大輔", "daisuke"), ("健太", "kenta"), ("拓也", "takuya"), ("直樹", "naoki"),
    ("浩二", "koji"), ("誠", "makoto"), ("隆", "takashi"), ("健一", "kenichi"), ("翔", "sho"),
    ("大樹", "daiki"), ("亮", "ryo"), ("和也", "kazuya"), ("達也", "tatsuya"), ("雄一", "yuichi"),
    ("修", "osamu"), ("博", "hiroshi"), ("茂", "shigeru"), ("実", "minoru"), ("勇気", "yuki"),
    ("蓮", "ren"), ("陽翔", "haruto"), ("悠真", "yuma"), ("湊", "minato"), ("大和", "yamato"),
)
FEMALE_NAMES = (
    ("花子", "hanako"), ("陽子", "yoko"), ("恵子", "keiko"), ("美咲", "misaki"), ("愛", "ai"),
    ("由美", "yumi"), ("真由美", "mayumi"), ("裕子", "yuko"), ("明美", "akemi"), ("直美", "naomi"),
    ("彩", "aya"), ("麻衣", "mai"), ("沙織", "saori"), ("智子", "tomoko"), ("久美子", "kumiko"),
    ("幸子", "sachiko"), ("美穂", "miho"), ("香織", "kaori"), ("千尋", "chihiro"), ("結衣", "yui"),
    ("陽菜", "hina"), ("葵", "aoi"), ("さくら", "sakura"), ("七海", "nanami"), ("京子", "kyoko"),
)
AGE_GROUPS = ("20代", "30代", "40代", "50代", "60代", "70代")
AGE_WEIGHTS = (14, 24, 24, 18, 12, 8)
PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県",
    "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県",
    "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)
# Rough population weights so Tokyo, Kanagawa and Osaka dominate as they would in a real customer base.
PREFECTURE_WEIGHTS = (
    5, 1, 1, 2, 1, 1, 2, 3, 2, 2, 7, 6, 14, 9, 2, 1, 1, 1, 1, 2,
    2, 3, 7, 2, 1, 2, 7, 4, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 4,
    1, 1, 2, 1, 1, 1, 1,
)
EMAIL_DOMAINS = ("example.com", "example.jp", "example.net")
MOBILE_PREFIXES = ("090", "080", "070")


class ProductType(NamedTuple):
    id: str
    name: str
    life: bool  # life (生命保険 side) vs non-life (損害保険 side)


class Product(NamedTuple):
    id: str
    name: str
    type: ProductType
    monthly_premium: int  # yen
    slug: str


LIFE = ProductType("PT01", "生命保険", True)
MEDICAL = ProductType("PT02", "医療保険", True)
AUTO = ProductType("PT03", "自動車保険", False)
FIRE = ProductType("PT04", "火災保険", False)
CANCER = ProductType("PT05", "がん保険", True)
PRODUCT_TYPES = (LIFE, MEDICAL, AUTO, FIRE, CANCER)
PRODUCTS = (
    Product("P001", "ネット定期保険", LIFE, 3200, "term-life"),
    Product("P002", "終身保険プレミアム", LIFE, 12800, "whole-life"),
    Product("P003", "収入保障保険", LIFE, 4100, "income-protection"),
    Product("P004", "ネット医療保険", MEDICAL, 2600, "medical"),
    Product("P005", "女性のための医療保険", MEDICAL, 3100, "medical-women"),
    Product("P006", "ネット自動車保険", AUTO, 5600, "auto"),
    Product("P007", "1日自動車保険", AUTO, 500, "auto-oneday"),
    Product("P008", "住まいの火災保険", FIRE, 2100, "fire"),
    Product("P009", "地震補償付き火災保険", FIRE, 3600, "fire-earthquake"),
    Product("P010", "がん保険ベーシック", CANCER, 1900, "cancer"),
    Product("P011", "がん保険プレミアム", CANCER, 4400, "cancer-premium"),
)
# One brochure per product: (資料ID, 資料名, product).
DOCUMENTS = tuple((f"D{i:03d}", f"{p.name} パンフレット", p) for i, p in enumerate(PRODUCTS, start=1))

STORES = (
    ("S001", "新宿店"), ("S002", "渋谷店"), ("S003", "池袋店"), ("S004", "横浜店"), ("S005", "大宮店"),
    ("S006", "千葉店"), ("S007", "梅田店"), ("S008", "なんば店"), ("S009", "名古屋栄店"), ("S010", "博多店"),
    ("S011", "札幌店"), ("S012", "仙台店"),
)
# Two advisers per store: (スタッフID, スタッフ名, 店舗ID).
ADVISER_NAMES = (
    "山田 花子", "佐藤 健一", "鈴木 美咲", "高橋 直樹", "田中 裕子", "伊藤 拓也", "渡辺 明美", "中村 大輔",
    "小林 香織", "加藤 誠", "吉田 智子", "山本 亮", "松本 沙織", "井上 浩二", "木村 由美", "林 達也",
    "清水 恵子", "山崎 和也", "森 千尋", "池田 修", "橋本 陽子", "阿部 健太", "石川 麻衣", "前田 隆",
)
ADVISERS = tuple((f"ST{i + 1:04d}", name, STORES[i // 2][0]) for i, name in enumerate(ADVISER_NAMES))
CONSULTATIONS = (
    "保険全般の見直し相談", "医療保険の新規加入相談", "自動車保険の乗り換え相談", "火災保険の補償内容の確認",
    "がん保険の保障比較", "将来資金・老後資金の相談", "保険料を抑えたい", "住宅購入に伴う保険相談",
)
CONSULTATION_TRIGGERS = (
    "結婚", "出産", "住宅購入", "転職", "車の購入", "子どもの進学", "定年退職", "家族の入院",
    "Web広告を見て", "知人の紹介", "保険料の負担が気になった", "更新のお知らせ",
)

SITE = "https://www.example-insurance.jp"
CANCEL_PAGE = ("解約のお手続き", "/mypage/cancel")
PAGES = (
    ("トップページ", "/"),
    ("商品一覧", "/products/"),
    *((f"{p.name} 商品詳細", f"/products/{p.slug}") for p in PRODUCTS),
    ("保険料シミュレーション", "/simulation"),
    ("よくあるご質問", "/faq"),
    ("店舗のご案内", "/stores"),
    ("来店予約", "/reservation"),
    ("資料請求", "/request"),
    ("キャンペーン情報", "/campaign"),
)
MYPAGE_PAGES = (("マイページ", "/mypage"), ("ご契約内容の確認", "/mypage/contracts"), ("住所変更のお手続き", "/mypage/address"))

CAMPAIGNS = (
    ("CP001", "新規契約キャンペーン"),
    ("CP002", "友だち紹介キャンペーン"),
    ("CP003", "LINE友だち登録キャンペーン"),
    ("CP004", "アプリダウンロードキャンペーン"),
    ("CP005", "契約更新感謝キャンペーン"),
    ("CP006", "来店相談キャンペーン"),
)

STATUS_ACTIVE, STATUS_CANCELLED, STATUS_MATURED = "契約中", "解約", "満期"
# fmt: on
