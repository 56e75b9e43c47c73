"""Japanese full names with their katakana readings, as a shop's customer export holds them.

The voice reads `name_kana`, so every kanji name is built together with its reading rather than
guessed from it. Surnames are drawn by rank (佐藤 is far more common than 菊地); given names lean
female and towards the generations that buy 青汁 and サプリ by mail order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """Read `kanji:kana` pairs separated by whitespace (a table, kept compact on purpose)."""
    return tuple((kanji, kana) for kanji, kana in (word.split(":") for word in text.split()))


SURNAMES: Final = _pairs(
    """
    佐藤:サトウ 鈴木:スズキ 高橋:タカハシ 田中:タナカ 伊藤:イトウ 渡辺:ワタナベ 山本:ヤマモト
    中村:ナカムラ 小林:コバヤシ 加藤:カトウ 吉田:ヨシダ 山田:ヤマダ 佐々木:ササキ 山口:ヤマグチ
    松本:マツモト 井上:イノウエ 木村:キムラ 林:ハヤシ 斎藤:サイトウ 清水:シミズ 山崎:ヤマザキ
    森:モリ 池田:イケダ 橋本:ハシモト 阿部:アベ 石川:イシカワ 山下:ヤマシタ 中島:ナカジマ
    石井:イシイ 小川:オガワ 前田:マエダ 岡田:オカダ 長谷川:ハセガワ 藤田:フジタ 後藤:ゴトウ
    近藤:コンドウ 村上:ムラカミ 遠藤:エンドウ 青木:アオキ 坂本:サカモト 斉藤:サイトウ 福田:フクダ
    太田:オオタ 西村:ニシムラ 藤井:フジイ 金子:カネコ 岡本:オカモト 藤原:フジワラ 中野:ナカノ
    三浦:ミウラ 原田:ハラダ 中川:ナカガワ 松田:マツダ 竹内:タケウチ 小野:オノ 田村:タムラ
    中山:ナカヤマ 和田:ワダ 石田:イシダ 森田:モリタ 上田:ウエダ 原:ハラ 内田:ウチダ 柴田:シバタ
    酒井:サカイ 宮崎:ミヤザキ 横山:ヨコヤマ 高木:タカギ 安藤:アンドウ 宮本:ミヤモト 大野:オオノ
    小島:コジマ 谷口:タニグチ 今井:イマイ 工藤:クドウ 高田:タカダ 増田:マスダ 丸山:マルヤマ
    杉山:スギヤマ 村田:ムラタ 大塚:オオツカ 小山:コヤマ 藤本:フジモト 平野:ヒラノ 新井:アライ
    河野:コウノ 上野:ウエノ 野口:ノグチ 武田:タケダ 松井:マツイ 千葉:チバ 岩崎:イワサキ
    菅原:スガワラ 木下:キノシタ 久保:クボ 佐野:サノ 野村:ノムラ 松尾:マツオ 市川:イチカワ
    菊地:キクチ
    """
)

FEMALE_GIVEN_NAMES: Final = _pairs(
    """
    陽子:ヨウコ 恵子:ケイコ 京子:キョウコ 幸子:サチコ 和子:カズコ 洋子:ヨウコ 美智子:ミチコ
    節子:セツコ 久美子:クミコ 由美子:ユミコ 智子:トモコ 裕子:ユウコ 直美:ナオミ 明美:アケミ
    真由美:マユミ 久子:ヒサコ 順子:ジュンコ 典子:ノリコ 悦子:エツコ 弘子:ヒロコ 美穂:ミホ
    恵美:エミ 由紀:ユキ 麻衣:マイ 愛:アイ 彩:アヤ 香織:カオリ 美香:ミカ 直子:ナオコ 純子:ジュンコ
    貴子:タカコ 文子:フミコ 千代子:チヨコ 芳子:ヨシコ 光子:ミツコ 静子:シズコ 敏子:トシコ
    美代子:ミヨコ 陽菜:ヒナ 結衣:ユイ さくら:サクラ 美咲:ミサキ 優子:ユウコ 真理子:マリコ
    由香:ユカ 沙織:サオリ 奈々:ナナ 千尋:チヒロ 絵里:エリ 礼子:レイコ 紀子:ノリコ 康子:ヤスコ
    道子:ミチコ 栄子:エイコ 正子:マサコ 良子:ヨシコ 房子:フサコ 雅子:マサコ 恵:メグミ 舞:マイ
    """
)

MALE_GIVEN_NAMES: Final = _pairs(
    """
    健太:ケンタ 翔太:ショウタ 大輔:ダイスケ 誠:マコト 浩:ヒロシ 茂:シゲル 博:ヒロシ 隆:タカシ
    清:キヨシ 勇:イサム 進:ススム 修:オサム 実:ミノル 正:タダシ 豊:ユタカ 明:アキラ 健一:ケンイチ
    和夫:カズオ 正男:マサオ 一郎:イチロウ 拓也:タクヤ 直樹:ナオキ 哲也:テツヤ 剛:ツヨシ 学:マナブ
    健二:ケンジ 英樹:ヒデキ 達也:タツヤ 聡:サトシ 大樹:ダイキ 蓮:レン 翔:ショウ 悠斗:ユウト
    和也:カズヤ 康弘:ヤスヒロ 俊介:シュンスケ 雄一:ユウイチ 光男:ミツオ 義男:ヨシオ 秀樹:ヒデキ
    """
)

# Share of customers with a female given name: the buyers of these products are mostly women.
FEMALE_SHARE: Final = 0.68
_SURNAME_DRAWS: Final = 4096


def _rank_weighted(size: int, draws: int) -> tuple[int, ...]:
    """Indexes 0..size-1 repeated in proportion to rank**-0.7, so a uniform pick is Zipf-like."""
    weights = [(rank + 1) ** -0.7 for rank in range(size)]
    total = sum(weights)
    table: list[int] = []
    for index, weight in enumerate(weights):
        table.extend([index] * max(1, round(weight / total * draws)))
    return tuple(table)


_SURNAME_TABLE: Final = _rank_weighted(len(SURNAMES), _SURNAME_DRAWS)


def draw_name(random: Callable[[], float]) -> tuple[str, str]:
    """A full name and its reading, e.g. `("佐藤 陽子", "サトウ ヨウコ")`, from draws in [0, 1)."""
    surname, surname_kana = SURNAMES[_SURNAME_TABLE[int(random() * len(_SURNAME_TABLE))]]
    given_names = FEMALE_GIVEN_NAMES if random() < FEMALE_SHARE else MALE_GIVEN_NAMES
    given, given_kana = given_names[int(random() * len(given_names))]
    return f"{surname} {given}", f"{surname_kana} {given_kana}"
