"""User-facing wording of verdicts, reasons, refusals and labels, by code. Each wording is
written in Vietnamese, the source language: it is the msgid of the message catalogs
(verifier/i18n/catalogs.py), and :func:`text` gives it in a language. Templates carry their
own words (``_()`` and ``{% trans %}``); a figure in braces is filled in with ``str.format``
after translation.

Over 400 lines because it is a table: one wording per verdict, reason, refusal, label and
scanner text; the code is the few functions at the end."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final, TypeVar

from signing import VerdictCode
from verifier.i18n.catalogs import CATALOGS, Language

__all__ = [
    "CERTIFICATE_STATES",
    "CLAIM_ANSWERS",
    "CLAIM_FAILED",
    "CONSUMER",
    "LABELS",
    "NOTES",
    "NO_QR_FOUND",
    "PHOTO_ERRORS",
    "PLACES",
    "PRODUCER_ERRORS",
    "PRODUCT_GROUPS",
    "RATE_LIMITED",
    "REASONS",
    "REFUSALS",
    "REPORT_STATUSES",
    "ROLE_NAMES",
    "SCANNER",
    "SCAN_PATTERNS",
    "SESSION_ENDED",
    "TONE",
    "VERDICTS",
    "Language",
    "consumer",
    "every_language",
    "scanner_texts",
    "text",
    "translate",
    "worded",
]

Code = TypeVar("Code", bound=str)


def N_(message: str) -> str:
    """Return ``message`` as it is: marks it for ``pybabel extract``."""
    return message


#: One sentence per verdict, for the API's ``message`` and the command line.
VERDICTS: dict[VerdictCode, str] = {
    VerdictCode.GENUINE: N_("Tem thật: sản phẩm được công nhận OCOP và còn hiệu lực."),
    VerdictCode.MALFORMED: N_("Không phải tem OCOP: mã này không đọc được như một tem."),
    VerdictCode.COUNTERFEIT: N_(
        "Tem giả: tem không do cơ quan có thẩm quyền cấp cho sản phẩm này."
    ),
    VerdictCode.UNREGISTERED: N_(
        "Tem không có trong sổ đăng ký: số sê-ri chưa từng được phát hành hoặc đã bị hủy."
    ),
    VerdictCode.REVOKED: N_("Đã bị thu hồi: sản phẩm không còn được công nhận OCOP."),
    VerdictCode.EXPIRED: N_(
        "Hết hiệu lực: chứng nhận OCOP đã quá hạn 36 tháng và chưa được công nhận lại."
    ),
    VerdictCode.STAR_MISMATCH: N_(
        "Sai số sao: số sao trên tem hoặc bao bì khác với số sao được công nhận."
    ),
    VerdictCode.SUSPECTED_CLONE: N_(
        "Nghi tem sao chép: số sê-ri này đã bị khóa hoặc được quét bất thường."
    ),
}


#: Why a stamp got its verdict, by reason code.
REASONS: dict[str, str] = {
    "empty": N_("Không có nội dung."),
    "too_long": N_("Nội dung quá dài."),
    "not_a_stamp": N_("Không phải địa chỉ tem hay dãy số tem."),
    "wrong_path": N_("Địa chỉ không có dạng /s/... hay /01/...."),
    "non_digit": N_("Mã tem chứa ký tự không phải chữ số."),
    "wrong_length": N_("Mã tem không đủ 193 chữ số."),
    "out_of_range": N_("Mã tem vượt giới hạn."),
    "unknown_version": N_("Phiên bản tem không được hỗ trợ."),
    "invalid_field": N_("Tem chứa giá trị không hợp lệ."),
    "bad_gtin": N_(
        "Mã sản phẩm GTIN trong địa chỉ tem không hợp lệ: phải có 14 chữ số và đúng số kiểm tra."
    ),
    "bad_link": N_("Địa chỉ tem dạng GS1 Digital Link không đúng định dạng."),
    "unknown_key": N_("Khóa ký không có trong danh sách tin cậy."),
    "bad_signature": N_("Chữ ký số không khớp với nội dung tem."),
    "stars_out_of_key_scope": N_("Khóa này không được phép ký số sao đó."),
    "outside_key_period": N_("Tem nằm ngoài thời gian được phép ký của khóa."),
    "key_compromised": N_("Khóa ký đã bị lộ; tem này được ký sau thời điểm lộ khóa."),
    "key_retired": N_("Khóa ký đã ngừng sử dụng trước khi phát hành số sê-ri này."),
    "gtin_mismatch": N_(
        "Mã sản phẩm GTIN trên tem không phải của sản phẩm được chứng nhận: mã của một tem thật "
        "đã bị in cho sản phẩm khác."
    ),
    "serial_not_issued": N_("Số sê-ri chưa từng được phát hành."),
    "batch_voided": N_("Lô tem chứa số sê-ri này đã bị hủy."),
    "certificate_revoked": N_("Chứng nhận OCOP đã bị thu hồi."),
    "certificate_expired": N_("Chứng nhận OCOP đã hết hiệu lực."),
    "stars_lowered": N_("Sản phẩm đã bị hạ sao khi đánh giá lại; tem ghi nhiều sao hơn."),
    "stars_raised": N_("Sản phẩm đã được nâng sao; tem ghi ít sao hơn."),
    "stars_seen_higher": N_("Bao bì in nhiều sao hơn số sao được công nhận."),
    "serial_blocked": N_("Số sê-ri đã bị cơ quan quản lý khóa."),
    "scan_pattern": N_("Các lượt quét của tem này không thể đến từ một con tem thật."),
}


#: Why the registry refuses an action, for the JSON error's ``messages`` and the desk; the
#: figures in braces come with the refusal (verifier.service_errors.ServiceError.refusal).
REFUSALS: dict[str, str] = {
    "block_range_needs_authority": N_(
        "Kiểm tra viên chỉ khóa từng sê-ri một. Khóa một dãy sê-ri hay cả lô tem là việc của cơ "
        "quan quản lý sở hữu khóa ký; hãy gửi báo cáo cho cơ quan đó."
    ),
    "block_not_checked": N_(
        "Bạn chỉ khóa được tem mà chính bạn đã kiểm tra khi đăng nhập trong {days} ngày qua. Hãy "
        "quét tem này khi có mạng rồi khóa."
    ),
    "signing_batch_void": N_("Lô tem {batch} đã bị hủy: không ký và không in tem của lô này."),
    "signing_serials_outside_batch": N_(
        "Chỉ ký được các sê-ri đã cấp cho lô tem {batch} (từ {first} đến {last})."
    ),
    "signing_certificate_inactive": N_(
        "Giấy chứng nhận {certificate} không còn hiệu lực (hoặc đã đổi hạng sao): không ký và "
        "không in tem."
    ),
    "signing_key_out_of_scope": N_(
        "Khóa ký {key} không được dùng cho lô tem này (khóa đã ngừng, hết thời hạn, của cơ quan "
        "khác hoặc không cho hạng sao này): không ký."
    ),
    "lot_not_of_product": N_("Lô hàng {lot} không phải là lô của sản phẩm in trên lô tem này."),
    "signing_not_allowed": N_(
        "Yêu cầu ký tem không còn được phép: mã truy cập, quyền hoặc lô tem đã thay đổi từ lúc "
        "gửi yêu cầu. Không tem nào được ký."
    ),
    "signing_requests_open": N_(
        "Bạn đang có {open} lần tải tem chưa xong. Hãy đợi các lần tải đó xong rồi tải tiếp."
    ),
    "signing_hourly_quota": N_(
        "Mã truy cập này đã tải {stamps} tem trong một giờ qua, mức tối đa của một mã. Hãy tải "
        "tiếp sau ít phút."
    ),
    "signing_signer_silent": N_(
        "Máy ký tem chưa trả lời sau {seconds} giây nên chưa tem nào được ký. Tem đã cấp vẫn "
        "được kiểm tra bình thường. Hãy thử tải lại sau vài phút."
    ),
    "signing_key_unusable": N_(
        "Máy ký tem không dùng được khóa ký {key} lúc này, nên tệp tem không hoàn tất. Hãy báo "
        "cơ quan quản lý và tải lại sau."
    ),
    "block_daily_cap": N_(
        "Bạn đã khóa {per_day} sê-ri trong 24 giờ qua, mức tối đa của một kiểm tra viên. Hãy gửi "
        "báo cáo để cơ quan quản lý xử lý."
    ),
    "block_other_key": N_(
        "Việc này thuộc cơ quan quản lý khác: chỉ cơ quan sở hữu khóa ký mới khóa được sê-ri của "
        "khóa đó; dữ liệu không thay đổi."
    ),
    "block_not_issued": N_(
        "Dãy sê-ri vượt quá số tem khóa ký này đã phát hành: chỉ khóa được tem đã phát hành; dữ "
        "liệu không thay đổi."
    ),
    "certificate_not_yours": N_(
        "Việc này thuộc cơ quan quản lý khác: chỉ cơ quan đã cấp chứng nhận mới được thu hồi, "
        "đánh giá lại hay thay thế chứng nhận đó và hủy lô tem của nó; dữ liệu không thay đổi."
    ),
    "successor_other_product": N_(
        "Chứng nhận thay thế phải là của cùng sản phẩm; dữ liệu không thay đổi."
    ),
    "successor_itself": N_("Một chứng nhận không thể thay thế chính nó; dữ liệu không thay đổi."),
    "claim_wrong_pin": N_(
        "Mã PIN không đúng. Hãy xem lại các chữ số dưới lớp cào; tem này còn nhận thêm "
        "{tries_left} lần nhập sai trước khi bị khóa."
    ),
    "claim_locked": N_(
        "Tem này đã nhận quá nhiều mã PIN sai nên tạm khóa. Hãy thử lại sau {minutes} phút; nếu "
        "bạn nhập đúng mà vẫn bị khóa, có thể người khác đang dò mã: hãy báo cáo."
    ),
    "claim_not_a_stamp": N_("Mã này không phải tem OCOP thật nên không có mã PIN để xác nhận."),
    "successor_not_active": N_(
        "Chứng nhận thay thế phải đang còn hiệu lực; dữ liệu không thay đổi."
    ),
}


#: Why a serial's scans look like copies, with its figures: {count}, {devices}, {places}, {first}.
SCAN_PATTERNS: dict[str, str] = {
    "many_devices": N_(
        "Tem này đã được kiểm tra {count} lần trên {devices} điện thoại khác nhau kể từ {first}: "
        "nhiều hơn một gói hàng thật có thể gặp."
    ),
    "many_places": N_(
        "Tem này đã được kiểm tra {count} lần ở {places} vùng cách xa nhau kể từ {first}: một gói "
        "hàng thật không đi nhiều nơi như vậy."
    ),
    "impossible_travel": N_(
        "Tem này đã được quét ở hai nơi cách xa nhau trong thời gian quá ngắn để một con tem thật "
        "đi kịp ({count} lần kiểm tra kể từ {first})."
    ),
}


#: What a verdict adds, by note code.
NOTES: dict[str, str] = {
    "offline": N_("Kiểm tra ngoại tuyến bằng danh sách đã tải."),
    "trust_list_expired": N_("Danh sách khóa tin cậy đã quá hạn; hãy cập nhật."),
    "status_list_expired": N_("Danh sách trạng thái đã quá hạn; hãy cập nhật."),
    "key_compromised_below_watermark": N_(
        "Khóa ký sau này bị lộ, nhưng tem này được phát hành trước đó."
    ),
    "not_in_status_list": N_(
        "Chứng nhận chưa có trong danh sách trạng thái; dựa vào hạn ghi trên tem."
    ),
    "renewed": N_("Chứng nhận đã được công nhận lại; thông tin hiện hành được hiển thị."),
    "gtin_unchecked": N_(
        "Chưa đối chiếu được mã sản phẩm GTIN vì chứng nhận chưa có trong danh sách trạng thái."
    ),
}


#: What a PIN typed under a stamp's scratch-off foil came to (the API's ``messages``, the
#: stamp page), and what the page shows of a stamp claimed before.
CLAIM_ANSWERS: dict[str, str] = {
    "first": N_("Bạn là người đầu tiên xác nhận gói hàng này, lúc {time} ngày {date}."),
    "already_claimed": N_(
        "Mã PIN này đã được xác nhận ngày {date}: gói hàng có thể đã bị chiết lại hoặc tem bị "
        "dùng lại. Hãy báo người bán và báo cáo."
    ),
    "already_claimed_in": N_(
        "Mã PIN này đã được xác nhận ngày {date} tại {province}: gói hàng có thể đã bị chiết lại "
        "hoặc tem bị dùng lại. Hãy báo người bán và báo cáo."
    ),
    "claimed": N_(
        "Tem này đã được xác nhận bằng mã PIN lần đầu ngày {date}, tổng cộng {count} lần."
    ),
}


#: A PIN typed for a stamp printed without one (the stamp page's form).
CLAIM_FAILED: Final = N_("Tem này không được in kèm mã PIN nên không xác nhận được bằng mã PIN.")


#: The lines the command line prints under a verdict.
LABELS: dict[str, str] = {
    "summary": N_(
        "{stars} sao · chứng nhận số {certificate} · sê-ri {serial} · hiệu lực đến {valid_until} "
        "· {issuer}"
    ),
    "lists_age": N_("Danh sách trạng thái phiên bản {version}, cập nhật {hours:.0f} giờ trước."),
    "scans": N_("Tem này đã được kiểm tra {count} lần."),
}


#: A photo in which no QR code was found, with what to do: the API's ``no_qr_found`` and the
#: scanner page's photo button say the same.
NO_QR_FOUND: Final = N_(
    "Không tìm thấy mã QR trong ảnh. Hãy giữ máy thật yên, đưa máy lại gần để mã QR chiếm gần "
    "hết khung hình, và chụp nơi đủ sáng, không bị lóa."
)

#: What ``POST /api/v1/verify/image`` answers when it reads no stamp from a photo (the error's
#: ``messages``; ``{placeholders}`` are filled in by the error).
#: A registry write or page that needs the database while it cannot be reached (503).
DATABASE_UNAVAILABLE = N_(
    "Tạm thời không kết nối được cơ sở dữ liệu của sổ đăng ký; việc kiểm tra tem vẫn hoạt động. "
    "Hãy thử lại sau {seconds} giây."
)

PHOTO_ERRORS: dict[str, str] = {
    "photo_too_large": N_(
        "Ảnh quá lớn: tối đa {megapixels} megapixel. Hãy chụp ở độ phân giải thấp hơn hoặc thu "
        "nhỏ ảnh."
    ),
    "photo_unreadable": N_("Tệp này không phải ảnh đọc được (JPEG, PNG hay WebP)."),
    "no_qr_found": NO_QR_FOUND,
    "photo_busy": N_("Máy chủ đang bận đọc các ảnh khác. Hãy thử lại sau {seconds} giây."),
}


#: What the consumer page says for each verdict: a headline, what it means for the buyer,
#: and what to do. Tone: plain words, no jargon.
CONSUMER: dict[VerdictCode, tuple[str, str, str]] = {
    VerdictCode.GENUINE: (
        N_("Tem OCOP thật"),
        N_("Sản phẩm này được công nhận OCOP với số sao như dưới đây và còn hiệu lực."),
        N_("Hãy so tên sản phẩm, nhà sản xuất và ảnh nhãn bên dưới với gói hàng trên tay."),
    ),
    VerdictCode.MALFORMED: (
        N_("Không phải tem OCOP"),
        N_("Mã này không phải là tem OCOP, hoặc đã bị hỏng, cắt bớt hay sửa đổi."),
        N_("Thử quét lại. Nếu vẫn báo như vậy, đừng tin vào logo OCOP trên gói hàng."),
    ),
    VerdictCode.COUNTERFEIT: (
        N_("Tem giả"),
        N_(
            "Tem này không do cơ quan có thẩm quyền cấp cho sản phẩm này. Logo OCOP trên gói hàng "
            "không đáng tin."
        ),
        N_("Không nên mua. Hãy báo cho cơ quan quản lý thị trường bằng nút bên dưới."),
    ),
    VerdictCode.UNREGISTERED: (
        N_("Tem không được phát hành"),
        N_(
            "Tem có chữ ký hợp lệ nhưng số sê-ri này chưa từng được cấp cho sản phẩm, hoặc cả lô "
            "tem đã bị hủy (ví dụ do bị mất cắp)."
        ),
        N_("Không nên mua. Hãy báo cho cơ quan quản lý thị trường."),
    ),
    VerdictCode.REVOKED: (
        N_("Chứng nhận OCOP đã bị thu hồi"),
        N_(
            "Sản phẩm từng được công nhận OCOP nhưng chứng nhận đã bị thu hồi; logo OCOP không "
            "còn được phép dùng."
        ),
        N_("Xem lý do thu hồi bên dưới. Người bán không được bày bán với logo OCOP."),
    ),
    VerdictCode.EXPIRED: (
        N_("Chứng nhận OCOP đã hết hạn"),
        N_("Chứng nhận OCOP có hiệu lực 36 tháng và đã hết hạn mà chưa được công nhận lại."),
        N_("Sản phẩm có thể vẫn tốt, nhưng không còn được dùng logo OCOP có sao."),
    ),
    VerdictCode.STAR_MISMATCH: (
        N_("Sai số sao"),
        N_("Số sao in trên tem hoặc bao bì khác với số sao sản phẩm đang được công nhận."),
        N_("Hãy tin số sao được công nhận ở bên dưới, không phải số sao in trên gói hàng."),
    ),
    VerdictCode.SUSPECTED_CLONE: (
        N_("Nghi tem bị sao chép"),
        N_(
            "Tem có chữ ký hợp lệ, nhưng số sê-ri này đã bị khóa hoặc được quét ở những nơi mà "
            "một con tem thật không thể có mặt."
        ),
        N_("Hãy cẩn thận: tem có thể đã bị in sao. Báo cho cơ quan quản lý thị trường."),
    ),
}


#: The scanner page's own words (the verdict wording is CONSUMER's).
SCANNER: dict[str, str] = {
    "product": N_("Sản phẩm"),
    "producer": N_("Cơ sở sản xuất"),
    "issuer": N_("Cơ quan công nhận"),
    "valid_until": N_("Hiệu lực đến"),
    "decision": N_("Quyết định"),
    "checks": N_("Lượt kiểm tra"),
    "checks_value": N_("{count} lượt, lần đầu {first}"),
    "checks_unknown": N_("tạm thời chưa xem được"),
    "claim_pin": N_(
        "Tem này có mã PIN dưới lớp cào: cào lớp phủ rồi nhập mã để xác nhận gói hàng."
    ),
    "claim_enter": N_("Nhập mã PIN"),
    "stars_label": N_("{n} sao OCOP"),
    "reasons": N_("Lý do:"),
    "checked_online": N_("Đã kiểm tra trực tuyến với sổ đăng ký."),
    "checked_offline": N_("Đã kiểm tra ngoại tuyến; danh sách cập nhật {hours} giờ trước."),
    "lists_stale": N_(
        "Danh sách đã cũ ({hours} giờ): hãy kết nối mạng để cập nhật trước khi kết luận."
    ),
    "lists_expired": N_(
        "Danh sách đã hết hạn {days} ngày trước: tem giả vẫn bị phát hiện, nhưng thu hồi và "
        "khóa mới không được biết. Hãy kết nối mạng để cập nhật."
    ),
    "no_lists": N_(
        "Chưa có danh sách để kiểm tra ngoại tuyến: hãy mở trang này một lần khi có mạng."
    ),
    "no_camera": N_("Không mở được camera. Hãy cho phép dùng camera, hoặc chụp ảnh tem."),
    "aim": N_("Đưa mã QR của tem vào khung."),
    "no_qr_found": NO_QR_FOUND,
    "sign_in_failed": N_("Mã truy cập không đúng, hoặc không có mạng để kiểm tra."),
    "report_queued": N_("Đã lưu báo cáo; sẽ gửi khi có mạng."),
    "report_waiting": N_("chờ gửi"),
    "block_confirm": N_("Khóa sê-ri {serial}? Mọi máy quét sẽ báo tem này là nghi sao chép."),
    "blocked": N_("Đã khóa sê-ri {serial}; cơ quan quản lý sẽ thấy trên bàn làm việc."),
    "block_refused": N_("Không khóa được sê-ri này; dữ liệu không thay đổi."),
    "block_needs_network": N_(
        "Cần có mạng để khóa tem. Hãy gửi báo cáo; báo cáo được lưu và gửi sau."
    ),
    "checking": N_("Đang kiểm tra… kết quả hiện ra ngay khi danh sách được tải xong."),
    "lists_not_kept": N_(
        "Điện thoại này không lưu được danh sách để kiểm tra ngoại tuyến (bộ nhớ đầy hoặc bị "
        "chặn): tem vẫn được kiểm tra ngoại tuyến đến khi đóng trang này; lần mở sau cần có mạng."
    ),
    # the lots a stamp's batch labels, in short, as the stamp page's trace section words them
    "trace_title": N_("Truy xuất nguồn gốc"),
    "trace_declared": N_(
        "Phần này do nhà sản xuất tự khai báo về lô hàng; cơ quan công nhận không ký và không "
        "xác nhận nội dung này. Con tem chỉ chứng nhận sản phẩm và hạng sao ở trên."
    ),
    "lot": N_("Lô hàng"),
    "produced_on": N_("Ngày sản xuất"),
    "best_before": N_("Sử dụng tốt nhất trước"),
    "expires_on": N_("Hạn sử dụng"),
    "origins": N_("Nguồn nguyên liệu"),
    "stages": N_("Số công đoạn"),
    "standards": N_("Tiêu chuẩn áp dụng"),
}


#: Where an inspector's report stands, as the scanner tells the inspector.
REPORT_STATUSES: dict[str, str] = {
    "new": N_("đã nhận"),
    "investigating": N_("đang xử lý"),
    "closed": N_("đã đóng"),
}


#: A certificate's status, as the registry and the desk show it.
CERTIFICATE_STATES: dict[str, str] = {
    "active": N_("Còn hiệu lực"),
    "expired": N_("Hết hạn"),
    "revoked": N_("Bị thu hồi"),
    "superseded": N_("Đã đánh giá lại"),
}


#: Who checked a stamp, as the desk shows it.
ROLE_NAMES: dict[str, str] = {
    "public": N_("Người mua"),
    "inspector": N_("Kiểm tra viên"),
    "authority": N_("Cơ quan quản lý"),
    "producer": N_("Nhà sản xuất"),
}

#: The answer 429, as JSON and on a page; ``{seconds}`` is the Retry-After.
RATE_LIMITED: Final = N_(
    "Quá nhiều yêu cầu trong thời gian ngắn. Vui lòng thử lại sau {seconds} giây."
)


#: The product groups of the OCOP programme.
PRODUCT_GROUPS: dict[str, str] = {
    "food": N_("Thực phẩm"),
    "beverage": N_("Đồ uống"),
    "herbal": N_("Thảo dược"),
    "handicraft": N_("Thủ công mỹ nghệ"),
    "ornamental": N_("Sinh vật cảnh"),
    "tourism_service": N_("Dịch vụ du lịch cộng đồng"),
}

#: The desk and the producer page, to a browser whose session ended (error code ``expired``).
SESSION_ENDED: Final = N_(
    "Phiên đăng nhập đã kết thúc (hết hạn, đã đăng xuất hoặc mã truy cập bị thu hồi). "
    "Vui lòng đăng nhập lại; dữ liệu không thay đổi."
)

#: Why the producer's page sent the producer back; ``{max_batch}`` is filled in by the page.
PRODUCER_ERRORS: dict[str, str] = {
    "unauthorized": N_("Mã truy cập không đúng hoặc đã bị thu hồi."),
    "expired": SESSION_ENDED,
    "forbidden": N_("Bạn không có quyền với chứng nhận hoặc lô tem này."),
    "conflict": N_("Chứng nhận không còn hiệu lực hoặc lô tem đã bị hủy: không thể in tem."),
    "invalid": N_("Số lượng tem mỗi lô từ 1 đến {max_batch}."),
    "not_found": N_("Không tìm thấy."),
    "market": N_("Chọn tỉnh, thành nơi bán trong danh sách."),
    "lot": N_(
        "Thông tin lô hàng chưa đúng: số lô gồm 1–20 chữ không dấu, số hoặc - . / _; ngày sản "
        "xuất không sau hôm nay; hạn dùng không trước ngày sản xuất; nơi chọn trong danh sách; "
        "lô đã chọn phải là lô của sản phẩm đó."
    ),
    "lot_taken": N_("Sản phẩm này đã có một lô hàng mang số lô đó."),
    "busy": N_(
        "Máy ký tem đang bận hoặc chưa trả lời nên chưa tem nào được ký. Tem đã cấp vẫn được kiểm "
        "tra bình thường. Hãy tải lại sau vài phút."
    ),
}

#: A scan's place near a province's centre: ``{place}`` is the province.
PLACES: dict[str, str] = {"near": N_("gần {place}")}

#: Colour of the verdict band: green, amber or red.
TONE: dict[VerdictCode, str] = {
    VerdictCode.GENUINE: "green",
    VerdictCode.STAR_MISMATCH: "amber",
    VerdictCode.EXPIRED: "amber",
    VerdictCode.SUSPECTED_CLONE: "amber",
    VerdictCode.MALFORMED: "red",
    VerdictCode.COUNTERFEIT: "red",
    VerdictCode.UNREGISTERED: "red",
    VerdictCode.REVOKED: "red",
}


def translate(language: Language, message: str) -> str:
    """Return ``message`` (its Vietnamese words) in ``language``; as it is when the language's
    catalog lacks it."""
    return CATALOGS.of(language).gettext(message)


def text(table: Mapping[Code, str], code: Code, language: Language) -> str:
    """Return the wording of ``code`` in ``language``; the code itself when it has none."""
    message = table.get(code)
    return str(code) if message is None else translate(language, message)


def worded(table: Mapping[Code, str], language: Language) -> dict[Code, str]:
    """Return every code of ``table`` with its wording in ``language``."""
    return {code: translate(language, message) for code, message in table.items()}


def every_language(message: str, **figures: object) -> Mapping[Language, str]:
    """Return ``message`` in every language of the catalogs, its ``{figures}`` filled in (for
    the ``messages`` of a JSON answer); without figures, the one kept for every caller."""
    worded = _in_every_language(message, CATALOGS.languages)
    if not figures:
        return worded
    return {language: words.format(**figures) for language, words in worded.items()}


@lru_cache(maxsize=1024)
def _in_every_language(message: str, languages: tuple[Language, ...]) -> dict[Language, str]:
    """Return ``message`` in each of ``languages``; kept, as every check's answer carries its
    verdict's message in every language and the catalogs do not change once read. The dict is
    shared: read it, never change it."""
    return {language: translate(language, message) for language in languages}


def consumer(code: VerdictCode, language: Language) -> tuple[str, str, str]:
    """Return what the consumer page says for a verdict in ``language``: its headline, what it
    means, what to do."""
    headline, meaning, action = CONSUMER[code]
    return (
        translate(language, headline),
        translate(language, meaning),
        translate(language, action),
    )


def scanner_texts(language: Language) -> dict[str, Any]:
    """Return every text the scanner page shows, in ``language``."""
    return {
        "verdicts": {code.value: list(consumer(code, language)) for code in VerdictCode},
        "tone": {code.value: TONE[code] for code in VerdictCode},
        "reasons": worded(REASONS, language),
        "notes": worded(NOTES, language),
        "ui": {**worded(SCANNER, language), "report_status": worded(REPORT_STATUSES, language)},
    }
