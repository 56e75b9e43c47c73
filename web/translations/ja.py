"""Japanese text of the dashboard's messages, keyed by the English written in the code.

`tests/test_i18n.py` checks that every `_("…")` in the templates and views, and every label
in `labels.LABELS`, has its entry here. Phone classes and refusals take their Japanese from
`dialer.phones`, which owns them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from dialer.phones import NumberClass, Refusal
from web.translations.labels import LABELS

__all__ = ["LABELS", "MESSAGES"]

_PAGES: Final = {
    # navigation and session
    "Dialer": "発信モニター",
    "Overview": "概要",
    "Charts": "グラフ",
    "Call log": "通話履歴",
    "My calls": "担当通話",
    "Do-not-call list": "発信禁止リスト",
    "Log in": "ログイン",
    "Log out": "ログアウト",
    "Outbound campaigns: supervisor dashboard": "アウトバウンド・キャンペーン管理画面",
    "User name": "ユーザー名",
    "Password": "パスワード",
    "Wrong user name or password.": "ユーザー名またはパスワードが違います。",
    "You have logged out.": "ログアウトしました。",
    "Back to the dashboard": "ダッシュボードに戻る",
    # errors
    "Bad request": "不正なリクエスト",
    "Login required": "ログインが必要です",
    "Not allowed": "権限がありません",
    "Not found": "見つかりません",
    "The form expired or did not come from this site. Reload the page and try again.": (
        "フォームの有効期限が切れたか、このサイト以外から送信されました。"
        "ページを再読み込みしてからやり直してください。"
    ),
    # overview
    "Updated": "更新",
    "Connection lost: retrying": "接続が切れました。再接続中",
    "campaigns.yaml does not load: no campaign can dial.": (
        "campaigns.yaml を読み込めません。すべてのキャンペーンが発信できません。"
    ),
    "An edit of campaigns.yaml was refused: the last good version stays in force.": (
        "campaigns.yaml の最新の変更は読み込めませんでした。"
        "前回読み込めた設定で発信を続けています。"
    ),
    "Holding back: no operator serves the hold queue": (
        "発信を控えています（保留キューの担当者がいません）"
    ),
    "Holding back: the next caller would wait %(wait)s on hold": (
        "発信を控えています（次のお客様の見込み待ち時間 %(wait)s）"
    ),
    "Today, all campaigns": "本日・全キャンペーン",
    "In progress": "通話中",
    "In queue": "待ち呼",
    "Calls today": "本日発信",
    "Contact rate": "接続率",
    "Answered by a person / dialled": "本人応答数 ÷ 発信数",
    "Conversion rate": "成約率",
    "Converted or retained / answered by a person": "成約・継続数 ÷ 本人応答数",
    "Abandonment rate": "放棄呼率",
    "Hung up while on hold / entered the hold queue": "保留中の切断数 ÷ 保留キュー到達数",
    "Average queue wait": "平均待ち時間",
    "Avg. wait": "平均待ち",
    "AHT": "平均処理時間",
    "Average handling time of calls answered by a person": "本人応答通話の平均通話時間",
    "Opt-outs": "拒否",
    "Campaign": "キャンペーン",
    "State": "状態",
    "Next open": "次回発信可能",
    "List": "リスト",
    "Remaining": "残り",
    "Actions": "操作",
    "priority": "優先度",
    "Pause": "一時停止",
    "Resume": "再開",
    "Pause %(name)s? Calls in progress go on; no new call starts.": (
        "「%(name)s」を一時停止しますか？通話中の電話はそのまま続き、新しい発信は止まります。"
    ),
    "Paused %(name)s.": "「%(name)s」を一時停止しました。",
    "Resumed %(name)s.": "「%(name)s」を再開しました。",
    "Paused by %(who)s, %(when)s": "%(who)s が停止 (%(when)s)",
    "No campaigns yet.": "キャンペーンはまだありません。",
    "Total": "合計",
    "Today's figures count from midnight in each campaign's time zone. "
    "Rates show — until there is something to divide by.": (
        "本日の数値は各キャンペーンのタイムゾーンの0時から集計しています。"
        "分母が0の率は「—」と表示します。"
    ),
    # charts
    "Calls": "通話",
    "%(h)s:00": "%(h)s時",
    "Today, hour by hour": "本日の時間帯別発信",
    "Calls per hour and how they ended.": "時間帯ごとの発信数と結果。",
    "Best time to call (last 30 days)": "つながりやすい時間帯（過去30日）",
    "Contact rate by hour of the day, with the number of calls.": "時間帯別の接続率と発信数。",
    "Outcomes per campaign (last 30 days)": "キャンペーン別の結果（過去30日）",
    "Calls per campaign and how they ended.": "キャンペーンごとの発信数と結果。",
    # call log
    "Started": "発信日時",
    "Customer": "顧客",
    "Phone": "電話番号",
    "Outcome": "結果",
    "Duration": "通話時間",
    "Queue": "保留キュー",
    "Disposition": "対応結果",
    "Operator": "担当",
    "No calls match.": "該当する通話はありません。",
    "Export CSV": "CSV出力",
    "On a call now": "対応中の通話",
    "No call is connected to you right now.": "現在つながっている通話はありません。",
    "All": "すべて",
    "From": "開始日",
    "To": "終了日",
    "Last digits": "電話番号下桁",
    "Name or customer ID": "氏名・顧客ID",
    "Search": "検索",
    "Clear": "クリア",
    "Newest": "最新",
    "Older": "さらに古い通話",
    "Enter 2 to 15 digits of the end of the number.": (
        "電話番号の末尾を2〜15桁の数字で入力してください。"
    ),
    "The start date is not a date.": "開始日が日付ではありません。",
    "The end date is not a date.": "終了日が日付ではありません。",
    "The end date is before the start date.": "終了日が開始日より前です。",
    "This page link is no longer valid.": "このページのリンクは無効です。",
    "Name": "氏名",
    "Duration (s)": "通話秒数",
    "Queue result": "キュー結果",
    "Queue wait (s)": "待ち秒数",
    "Attempt ID": "発信ID",
    # customer page
    "Customer ID": "顧客ID",
    "Consent": "架電同意",
    "Birthday": "誕生日",
    "Numbers are masked.": "電話番号は一部を伏せて表示しています。",
    "Do not call": "発信禁止",
    "Phones": "電話番号",
    "Not dialled": "発信対象外",
    "Dialable": "発信可",
    "No phone on file.": "電話番号の登録はありません。",
    "Subscriptions": "定期便",
    "Product": "商品",
    "Cycle": "周期",
    "Status": "状態",
    "Next delivery": "次回お届け",
    "every %(days)s days": "%(days)s日ごと",
    "No subscription.": "定期便はありません。",
    "Orders": "注文",
    "Date": "日時",
    "Amount": "金額",
    "Channel": "経路",
    "No order.": "注文はありません。",
    "Campaigns: why (not) called": "キャンペーン別の発信判定",
    "Standing": "判定",
    "Next call": "次回発信",
    "%(n)s attempts": "発信%(n)s回",
    "The next list build will update this entry.": "次回のリスト更新で反映されます。",
    "The explanation is not available:": "判定を表示できません:",
    "Active": "有効",
    "Removed": "解除済み",
    "Expired": "期限切れ",
    "customer": "顧客単位",
    "Removed by %(who)s, %(when)s": "%(who)s が解除 (%(when)s)",
    "Reason for removal": "解除理由",
    "Remove": "解除",
    "Not on the list.": "登録はありません。",
    "Reason (e.g. asked not to be called)": "理由（例: 今後の電話を断られた）",
    "Add customer to the list": "この顧客を登録",
    "Notes": "メモ",
    "What was said, what to do next…": "お客様とのやりとり、次の対応など…",
    "About the call": "対象の通話",
    "Not about one call": "通話を指定しない",
    "Add note": "メモを追加",
    "call #%(id)s": "通話 #%(id)s",
    "On the line": "通話中",
    "Answered by": "応答",
    "Keys": "押下キー",
    "%(n)s callbacks from Twilio": "Twilio からの通知 %(n)s 件",
    "Never called.": "発信履歴はありません。",
    "Write a note of 1 to 2000 characters.": "メモは1〜2000文字で入力してください。",
    "Note added.": "メモを追加しました。",
    # DNC
    "Entries are never deleted: a removal keeps who removed it, when and why.": (
        "登録は削除されません。解除しても、誰がいつなぜ解除したかが残ります。"
    ),
    "Number, last digits, name, customer ID or reason": "電話番号・下桁・氏名・顧客ID・理由",
    "Show": "表示",
    "Phone number": "電話番号",
    "or customer ID": "または顧客ID",
    "Reason": "理由",
    "Add to the list": "リストに登録",
    "Number": "電話番号",
    "Source": "登録元",
    "Added": "登録日時",
    "No entries match.": "該当する登録はありません。",
    "%(first)s–%(last)s of %(total)s": "%(total)s 件中 %(first)s〜%(last)s 件",
    "Previous": "前へ",
    "Next": "次へ",
    "Added to the do-not-call list.": "発信禁止リストに登録しました。",
    "Removed from the do-not-call list; the entry is kept for the record.": (
        "発信禁止リストから解除しました。記録は残ります。"
    ),
    "Enter a reason.": "理由を入力してください。",
    "Enter the reason for removing this entry.": "解除の理由を入力してください。",
    "Enter a phone number or a customer ID.": "電話番号または顧客IDを入力してください。",
    "This is not a phone number.": "電話番号として認識できません。",
    "No customer has this ID.": "この顧客IDの顧客はいません。",
    "This entry was already removed.": "この登録はすでに解除されています。",
    "The reason is too long (200 characters at most).": "理由が長すぎます（200文字まで）。",
    # the operator screen: calls to disposition, one call's case, the disposition form
    "Dispositions": "対応結果入力",
    "Calls to disposition": "対応結果の未入力の通話",
    "Calls of the last 7 days that reached an operator and have no disposition yet.": (
        "過去7日間にオペレーターにつながり、対応結果がまだ入力されていない通話です。"
    ),
    "No call is waiting for a disposition.": "対応結果の入力を待つ通話はありません。",
    "Open": "開く",
    "Number called": "発信番号",
    "Script": "トークスクリプト",
    "Purpose of the call": "お電話の目的",
    "This campaign has no script.": "このキャンペーンにはトークスクリプトがありません。",
    "A customer who holds to cancelling must have the cancellation accepted on the call, "
    "without obstruction (特定商取引法 第13条の2). A customer who refuses further calls is "
    "never called again (第17条).": (
        "お客様が解約のご意思を変えられない場合は、引き止めずにその場で必ず解約を承ってください"
        "（特定商取引法 第13条の2）。"
        "今後の電話を断られたお客様には、二度とお電話しません（第17条）。"
    ),
    "Talked": "通話",
    "Cancellation request": "解約のお申し出",
    "Other": "その他",
    "Refused: never call again": "拒否（今後は発信しない）",
    "Call back at (campaign time)": "かけ直し日時（キャンペーンの時刻）",
    "Call back asked for": "かけ直し希望日時",
    "The campaign ends on %(day)s.": "キャンペーンは%(day)sまでです。",
    "Note": "メモ",
    "Record disposition": "対応結果を登録",
    "Contact history": "接触履歴",
    "No notes.": "メモはありません。",
    "Disposition recorded.": "対応結果を登録しました。",
    "Call back booked for %(when)s.": "%(when)sにかけ直す予定を登録しました。",
    "Recorded. The customer is on the do-not-call list and will not be called again.": (
        "登録しました。お客様を発信禁止リストに登録し、今後は発信しません。"
    ),
    "Recorded. The call list entry has moved on and was left as it is.": (
        "登録しました。発信リストの状態はすでに先に進んでいるため、変更していません。"
    ),
    "Choose a disposition.": "対応結果を選んでください。",
    "The note is too long (2000 characters at most).": "メモが長すぎます（2000文字まで）。",
    "A disposition was already recorded for this call.": "この通話の対応結果はすでに登録済みです。",
    "Nobody talked in this call; it cannot be dispositioned.": (
        "この通話ではお客様と話していないため、対応結果は登録できません。"
    ),
    "This customer's call list entry is closed; no call back can be booked.": (
        "このお客様の発信リストは終了しているため、かけ直しは登録できません。"
    ),
    "Enter the date and time to call back.": "かけ直しの日時を入力してください。",
    "The call back time has already passed.": "かけ直しの日時がすでに過ぎています。",
    "The campaign ends before that time; choose an earlier call back time.": (
        "その日時の前にキャンペーンが終了します。より早い日時を選んでください。"
    ),
    "The campaign is not in campaigns.yaml; no call back can be booked.": (
        "campaigns.yaml にないキャンペーンのため、かけ直しは登録できません。"
    ),
    "campaigns.yaml has errors; nothing can be recorded until it is fixed.": (
        "campaigns.yaml に誤りがあるため、修正されるまで登録できません。"
    ),
}

_LABELS_JA: Final = {
    # state, closed
    "Dialling": "発信中",
    "Paused": "一時停止中",
    "Closed": "休止中",
    "Disabled": "無効",
    "Finished": "終了",
    "Not started yet": "開始前",
    "Company closure": "休業期間",
    "Public holiday": "祝日",
    "No calling window today": "本日は発信枠なし",
    "No calling time today": "本日の発信可能時間なし",
    "Outside calling hours": "発信時間外",
    "Closing: no new calls": "終了間際のため新規発信なし",
    "Configuration error": "設定エラー",
    "Not in campaigns.yaml": "設定ファイルにありません",
    # outcomes, statuses, categories
    "Person answered": "本人応答",
    "Answering machine": "留守番電話",
    "Busy": "話し中",
    "No answer": "不在",
    "Failed": "失敗",
    "Not placed": "未発信",
    "Refused": "拒否",
    "Opted out": "オプトアウト",
    "In progress": "通話中",
    "Not answered yet": "呼出中",
    "Queued": "発信待ち",
    "Ringing": "呼出中",
    "On the line": "通話中",
    "Completed": "完了",
    # roles
    "Supervisor": "スーパーバイザー",
    "Operator": "オペレーター",
    # queue results, answered by
    "Connected": "オペレーター接続",
    "Connecting": "接続中",
    "Hung up while waiting": "待ち中に切断",
    "Left the queue": "キューから退出",
    "Queue full": "キュー満杯",
    "Error": "エラー",
    "Redirected": "転送",
    "System shutdown": "システム停止",
    "Person": "本人",
    "Fax": "FAX",
    "Unknown": "不明",
    # dispositions, entry states, closing reasons
    "Reached": "接触済み",
    "Converted": "成約",
    "Retained": "継続",
    "Retained (skip a delivery)": "継続（1回スキップ）",
    "Retained (longer cycle)": "継続（周期変更）",
    "Retained (smaller size)": "継続（容量変更）",
    "Retained (paused)": "継続（休止）",
    "Cancelled as requested": "解約受付",
    "Wrong person": "本人以外",
    "Call back": "かけ直し",
    "Waiting": "発信待ち",
    "Calling": "発信中",
    "Held back": "発信停止中",
    "Left the segment": "対象外になった",
    "Done": "完了",
    "Attempts used up": "発信回数上限",
    "Number not dialable": "発信できない番号",
    "Campaign over": "キャンペーン終了",
    # DNC
    "Import": "取込",
    "Opt-out key": "拒否キー",
    "Active entries": "有効な登録",
    "Removed entries": "解除済みの登録",
    "All entries": "すべての登録",
    # subscriptions, verdicts, campaign status, consent
    "Cancellation requested": "解約申請中",
    "Cancelled": "解約済み",
    "Will be called": "発信予定",
    "Being called": "発信中",
    "Not in the segment": "セグメント対象外",
    "Campaign disabled": "キャンペーン無効",
    "Campaign ended": "実施期間終了",
    "Running": "実施中",
    "Not started": "開始前",
    "Ended": "終了",
    "Yes": "あり",
    "No": "なし",
    # key actions
    "to an operator": "オペレーターへ",
    "call back": "かけ直し希望",
    "opt-out": "拒否",
    "repeat": "繰り返し",
    "hang up": "終了",
    "survey": "アンケート",
    "unknown key": "無効なキー",
    # surveys (満足度調査)
    "Surveys": "アンケート結果",
    "%(first)s to %(last)s": "%(first)s〜%(last)s",
    "Last 30 days": "直近30日間",
    "campaigns.yaml does not load: the surveys cannot be shown.": (
        "campaigns.yaml を読み込めないため、アンケート結果を表示できません。"
    ),
    "No campaign has a survey.": "アンケートを実施しているキャンペーンはありません。",
    "No longer in campaigns.yaml.": "campaigns.yaml から削除されたキャンペーンです。",
    "Answers": "回答数",
    "Mean": "平均",
    "Answer": "回答",
    "Share": "割合",
    "Count": "件数",
    "No answers yet.": "まだ回答がありません",
}

_PHONES: Final = {
    **{number_class.label_en: number_class.label_ja for number_class in NumberClass},
    **{refusal.label_en: refusal.label_ja for refusal in Refusal},
}

MESSAGES: Final[Mapping[str, str]] = {**_PAGES, **_LABELS_JA, **_PHONES}
