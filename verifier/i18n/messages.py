"""User-facing wording of verdicts and reasons, Vietnamese first, English second."""

from __future__ import annotations

from typing import Any, Literal

from signing import VerdictCode

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")

VERDICTS: dict[VerdictCode, dict[Language, str]] = {
    VerdictCode.GENUINE: {
        "vi": "Tem thật: sản phẩm được công nhận OCOP và còn hiệu lực.",
        "en": "Genuine: the product holds a valid OCOP recognition.",
    },
    VerdictCode.MALFORMED: {
        "vi": "Không phải tem OCOP: mã này không đọc được như một tem.",
        "en": "Not an OCOP stamp: this code cannot be read as a stamp.",
    },
    VerdictCode.COUNTERFEIT: {
        "vi": "Tem giả: chữ ký không do cơ quan có thẩm quyền cấp.",
        "en": "Counterfeit: the stamp was not signed by an authority.",
    },
    VerdictCode.UNREGISTERED: {
        "vi": "Tem không có trong sổ đăng ký: số sê-ri chưa từng được phát hành hoặc đã bị hủy.",
        "en": "Unregistered: this serial was never issued, or its batch was voided.",
    },
    VerdictCode.REVOKED: {
        "vi": "Đã bị thu hồi: sản phẩm không còn được công nhận OCOP.",
        "en": "Revoked: the product's OCOP recognition was withdrawn.",
    },
    VerdictCode.EXPIRED: {
        "vi": "Hết hiệu lực: chứng nhận OCOP đã quá hạn 36 tháng và chưa được công nhận lại.",
        "en": "Expired: the OCOP recognition ran out (36 months) and was not renewed.",
    },
    VerdictCode.STAR_MISMATCH: {
        "vi": "Sai số sao: số sao trên tem hoặc bao bì khác với số sao được công nhận.",
        "en": "Star mismatch: the stars shown differ from the stars certified.",
    },
    VerdictCode.SUSPECTED_CLONE: {
        "vi": "Nghi tem sao chép: số sê-ri này đã bị khóa hoặc được quét bất thường.",
        "en": "Suspected copy: this serial is blocked or was scanned in an impossible pattern.",
    },
}

REASONS: dict[str, dict[Language, str]] = {
    "empty": {"vi": "Không có nội dung.", "en": "Nothing was given."},
    "too_long": {"vi": "Nội dung quá dài.", "en": "The input is far too long."},
    "not_a_stamp": {
        "vi": "Không phải địa chỉ tem hay dãy số tem.",
        "en": "Neither a stamp address nor stamp digits.",
    },
    "wrong_path": {
        "vi": "Địa chỉ không có dạng /s/....",
        "en": "The address is not of the form /s/....",
    },
    "non_digit": {
        "vi": "Mã tem chứa ký tự không phải chữ số.",
        "en": "The stamp number contains characters other than digits.",
    },
    "wrong_length": {"vi": "Mã tem không đủ 193 chữ số.", "en": "A stamp number has 193 digits."},
    "out_of_range": {"vi": "Mã tem vượt giới hạn.", "en": "The stamp number is out of range."},
    "unknown_version": {
        "vi": "Phiên bản tem không được hỗ trợ.",
        "en": "Unknown stamp format version.",
    },
    "invalid_field": {
        "vi": "Tem chứa giá trị không hợp lệ.",
        "en": "The stamp holds an invalid value.",
    },
    "unknown_key": {
        "vi": "Khóa ký không có trong danh sách tin cậy.",
        "en": "The signing key is not in the trust list.",
    },
    "bad_signature": {
        "vi": "Chữ ký số không khớp với nội dung tem.",
        "en": "The digital signature does not match the stamp.",
    },
    "stars_out_of_key_scope": {
        "vi": "Khóa này không được phép ký số sao đó.",
        "en": "This key may not sign that star level.",
    },
    "outside_key_period": {
        "vi": "Tem nằm ngoài thời gian được phép ký của khóa.",
        "en": "The stamp lies outside the key's signing period.",
    },
    "key_compromised": {
        "vi": "Khóa ký đã bị lộ; tem này được ký sau thời điểm lộ khóa.",
        "en": "The signing key leaked; this stamp was signed after the leak.",
    },
    "key_retired": {
        "vi": "Khóa ký đã ngừng sử dụng trước khi phát hành số sê-ri này.",
        "en": "The signing key was retired before this serial.",
    },
    "serial_not_issued": {
        "vi": "Số sê-ri chưa từng được phát hành.",
        "en": "This serial was never issued.",
    },
    "batch_voided": {
        "vi": "Lô tem chứa số sê-ri này đã bị hủy.",
        "en": "The batch holding this serial was voided.",
    },
    "certificate_revoked": {
        "vi": "Chứng nhận OCOP đã bị thu hồi.",
        "en": "The OCOP certificate was revoked.",
    },
    "certificate_expired": {
        "vi": "Chứng nhận OCOP đã hết hiệu lực.",
        "en": "The OCOP certificate has expired.",
    },
    "stars_lowered": {
        "vi": "Sản phẩm đã bị hạ sao khi đánh giá lại; tem ghi nhiều sao hơn.",
        "en": "The product was re-rated lower; the stamp shows more stars.",
    },
    "stars_raised": {
        "vi": "Sản phẩm đã được nâng sao; tem ghi ít sao hơn.",
        "en": "The product was re-rated higher; the stamp shows fewer stars.",
    },
    "stars_seen_higher": {
        "vi": "Bao bì in nhiều sao hơn số sao được công nhận.",
        "en": "The package shows more stars than certified.",
    },
    "serial_blocked": {
        "vi": "Số sê-ri đã bị cơ quan quản lý khóa.",
        "en": "The serial was blocked by the authority.",
    },
    "scan_pattern": {
        "vi": "Các lượt quét của tem này không thể đến từ một con tem thật.",
        "en": "The scans of this stamp cannot come from one real stamp.",
    },
}

#: Why the registry refuses an action, for the JSON error's ``messages`` and the desk; the
#: figures in braces come with the refusal (verifier.service_errors.ServiceError.refusal).
REFUSALS: dict[str, dict[Language, str]] = {
    "block_range_needs_authority": {
        "vi": "Kiểm tra viên chỉ khóa từng sê-ri một. Khóa một dãy sê-ri hay cả lô tem là việc "
        "của cơ quan quản lý sở hữu khóa ký; hãy gửi báo cáo cho cơ quan đó.",
        "en": "An inspector blocks one serial at a time. A range or a whole batch is blocked by "
        "the authority that owns the signing key; file a report for it.",
    },
    "block_not_checked": {
        "vi": "Bạn chỉ khóa được tem mà chính bạn đã kiểm tra khi đăng nhập trong {days} ngày qua. "
        "Hãy quét tem này khi có mạng rồi khóa.",
        "en": "You can block only a stamp you checked yourself, signed in, in the last {days} "
        "days. Scan this stamp online first, then block it.",
    },
    "block_daily_cap": {
        "vi": "Bạn đã khóa {per_day} sê-ri trong 24 giờ qua, mức tối đa của một kiểm tra viên. "
        "Hãy gửi báo cáo để cơ quan quản lý xử lý.",
        "en": "You have blocked {per_day} serials in the last 24 hours, the most an inspector "
        "may. File a report for the authority instead.",
    },
    "block_other_key": {
        "vi": "Việc này thuộc cơ quan quản lý khác: chỉ cơ quan sở hữu khóa ký mới khóa được "
        "sê-ri của khóa đó; dữ liệu không thay đổi.",
        "en": "This belongs to another authority: only the authority that owns a signing key "
        "blocks its serials; nothing was changed.",
    },
    "block_not_issued": {
        "vi": "Dãy sê-ri vượt quá số tem khóa ký này đã phát hành: chỉ khóa được tem đã phát "
        "hành; dữ liệu không thay đổi.",
        "en": "The range goes past the serials this key has issued: only issued stamps can be "
        "blocked; nothing was changed.",
    },
    "certificate_not_yours": {
        "vi": "Việc này thuộc cơ quan quản lý khác: chỉ cơ quan đã cấp chứng nhận mới được thu "
        "hồi, đánh giá lại hay thay thế chứng nhận đó và hủy lô tem của nó; dữ liệu không "
        "thay đổi.",
        "en": "This belongs to another authority: only the authority that issued a certificate "
        "may revoke, re-evaluate or replace it and void its batches; nothing was changed.",
    },
    "successor_other_product": {
        "vi": "Chứng nhận thay thế phải là của cùng sản phẩm; dữ liệu không thay đổi.",
        "en": "The replacing certificate must be for the same product; nothing was changed.",
    },
    "successor_itself": {
        "vi": "Một chứng nhận không thể thay thế chính nó; dữ liệu không thay đổi.",
        "en": "A certificate cannot replace itself; nothing was changed.",
    },
    "successor_not_active": {
        "vi": "Chứng nhận thay thế phải đang còn hiệu lực; dữ liệu không thay đổi.",
        "en": "The replacing certificate must be active; nothing was changed.",
    },
}

#: Why a serial's scans look like copies, with its figures: {count}, {devices}, {places}, {first}.
SCAN_PATTERNS: dict[str, dict[Language, str]] = {
    "many_devices": {
        "vi": "Tem này đã được kiểm tra {count} lần trên {devices} điện thoại khác nhau kể từ "
        "{first}: nhiều hơn một gói hàng thật có thể gặp.",
        "en": "This stamp was checked {count} times on {devices} different phones since "
        "{first}: more than one real package meets.",
    },
    "many_places": {
        "vi": "Tem này đã được kiểm tra {count} lần ở {places} vùng cách xa nhau kể từ {first}: "
        "một gói hàng thật không đi nhiều nơi như vậy.",
        "en": "This stamp was checked {count} times in {places} distant regions since {first}: "
        "one real package does not travel that much.",
    },
    "impossible_travel": {
        "vi": "Tem này đã được quét ở hai nơi cách xa nhau trong thời gian quá ngắn để một con tem "
        "thật đi kịp ({count} lần kiểm tra kể từ {first}).",
        "en": "This stamp was scanned in two places too far apart for the time between them "
        "({count} checks since {first}).",
    },
}

NOTES: dict[str, dict[Language, str]] = {
    "offline": {
        "vi": "Kiểm tra ngoại tuyến bằng danh sách đã tải.",
        "en": "Checked offline against the downloaded lists.",
    },
    "trust_list_expired": {
        "vi": "Danh sách khóa tin cậy đã quá hạn; hãy cập nhật.",
        "en": "The trust list has expired; update it.",
    },
    "status_list_expired": {
        "vi": "Danh sách trạng thái đã quá hạn; hãy cập nhật.",
        "en": "The status list has expired; update it.",
    },
    "key_compromised_below_watermark": {
        "vi": "Khóa ký sau này bị lộ, nhưng tem này được phát hành trước đó.",
        "en": "The key leaked later, but this stamp was issued before the leak.",
    },
    "not_in_status_list": {
        "vi": "Chứng nhận chưa có trong danh sách trạng thái; dựa vào hạn ghi trên tem.",
        "en": "The certificate is not in the status list; the stamp's own expiry was used.",
    },
    "renewed": {
        "vi": "Chứng nhận đã được công nhận lại; thông tin hiện hành được hiển thị.",
        "en": "The certificate was renewed; the current one is shown.",
    },
}


LABELS: dict[str, dict[Language, str]] = {
    "summary": {
        "vi": "{stars} sao · chứng nhận số {certificate} · sê-ri {serial} · "
        "hiệu lực đến {valid_until} · {issuer}",
        "en": "{stars} stars · certificate {certificate} · serial {serial} · "
        "valid until {valid_until} · {issuer}",
    },
    "lists_age": {
        "vi": "Danh sách trạng thái phiên bản {version}, cập nhật {hours:.0f} giờ trước.",
        "en": "Status list version {version}, updated {hours:.0f} hours ago.",
    },
    "scans": {
        "vi": "Tem này đã được kiểm tra {count} lần.",
        "en": "This stamp has been checked {count} times.",
    },
}


#: What ``POST /api/v1/verify/image`` answers when it reads no stamp from a photo (the error's
#: ``messages``; ``{placeholders}`` are filled in by the error).
PHOTO_ERRORS: dict[str, dict[Language, str]] = {
    "photo_too_large": {
        "vi": "Ảnh quá lớn: tối đa {megapixels} megapixel. Hãy chụp ở độ phân giải thấp hơn "
        "hoặc thu nhỏ ảnh.",
        "en": "The photo is too large: at most {megapixels} megapixels. Take it at a lower "
        "resolution, or make it smaller.",
    },
    "photo_unreadable": {
        "vi": "Tệp này không phải ảnh đọc được (JPEG, PNG hay WebP).",
        "en": "The file is not a readable image (JPEG, PNG or WebP).",
    },
    "qr_not_found": {
        "vi": "Không tìm thấy mã QR trong ảnh. Chụp gần hơn, đủ sáng.",
        "en": "No QR code was found in the photo. Come closer, with enough light.",
    },
    "photo_busy": {
        "vi": "Máy chủ đang bận đọc các ảnh khác. Hãy thử lại sau {seconds} giây.",
        "en": "The server is busy reading other photos. Try again in {seconds} seconds.",
    },
}


def text(table: dict[str, dict[Language, str]], code: str, language: Language) -> str:
    """Return the wording of ``code`` in ``language``; the code itself when it has none."""
    return table.get(code, {}).get(language, code)


def worded(table: dict[str, dict[Language, str]], language: Language) -> dict[str, str]:
    """Return every code of ``table`` with its wording in ``language``."""
    return {code: words[language] for code, words in table.items()}


#: What the consumer page says for each verdict: a headline, what it means for the buyer,
#: and what to do. Tone: plain words, no jargon.
CONSUMER: dict[VerdictCode, dict[Language, tuple[str, str, str]]] = {
    VerdictCode.GENUINE: {
        "vi": (
            "Tem OCOP thật",
            "Sản phẩm này được công nhận OCOP với số sao như dưới đây và còn hiệu lực.",
            "Hãy so tên sản phẩm, nhà sản xuất và ảnh nhãn bên dưới với gói hàng trên tay.",
        ),
        "en": (
            "Genuine OCOP stamp",
            "This product holds a valid OCOP recognition with the stars shown below.",
            "Compare the product name, producer and label photo below with the pack in your hand.",
        ),
    },
    VerdictCode.MALFORMED: {
        "vi": (
            "Không phải tem OCOP",
            "Mã này không phải là tem OCOP, hoặc đã bị hỏng, cắt bớt hay sửa đổi.",
            "Thử quét lại. Nếu vẫn báo như vậy, đừng tin vào logo OCOP trên gói hàng.",
        ),
        "en": (
            "Not an OCOP stamp",
            "This code is not an OCOP stamp, or it was damaged, cut short or altered.",
            "Scan again. If the result stays the same, do not trust the OCOP logo on the pack.",
        ),
    },
    VerdictCode.COUNTERFEIT: {
        "vi": (
            "Tem giả",
            "Tem này không do cơ quan có thẩm quyền ký. Logo OCOP trên gói hàng không đáng tin.",
            "Không nên mua. Hãy báo cho cơ quan quản lý thị trường bằng nút bên dưới.",
        ),
        "en": (
            "Counterfeit stamp",
            "No authority signed this stamp. The OCOP logo on this pack cannot be trusted.",
            "Better not buy it. Report it to Market Management with the button below.",
        ),
    },
    VerdictCode.UNREGISTERED: {
        "vi": (
            "Tem không được phát hành",
            "Tem có chữ ký hợp lệ nhưng số sê-ri này chưa từng được cấp cho sản phẩm, "
            "hoặc cả lô tem đã bị hủy (ví dụ do bị mất cắp).",
            "Không nên mua. Hãy báo cho cơ quan quản lý thị trường.",
        ),
        "en": (
            "Stamp never issued",
            "The signature is valid, but this serial was never issued for the product, or its "
            "whole batch was voided (for example, stolen rolls).",
            "Better not buy it. Report it to Market Management.",
        ),
    },
    VerdictCode.REVOKED: {
        "vi": (
            "Chứng nhận OCOP đã bị thu hồi",
            "Sản phẩm từng được công nhận OCOP nhưng chứng nhận đã bị thu hồi; "
            "logo OCOP không còn được phép dùng.",
            "Xem lý do thu hồi bên dưới. Người bán không được bày bán với logo OCOP.",
        ),
        "en": (
            "OCOP recognition revoked",
            "The product was once OCOP-certified, but the recognition was revoked; the OCOP "
            "logo may no longer be used.",
            "See the reason below. The seller may not sell it under the OCOP logo.",
        ),
    },
    VerdictCode.EXPIRED: {
        "vi": (
            "Chứng nhận OCOP đã hết hạn",
            "Chứng nhận OCOP có hiệu lực 36 tháng và đã hết hạn mà chưa được công nhận lại.",
            "Sản phẩm có thể vẫn tốt, nhưng không còn được dùng logo OCOP có sao.",
        ),
        "en": (
            "OCOP recognition expired",
            "An OCOP recognition lasts 36 months; this one ran out and was not renewed.",
            "The product may still be fine, but it may no longer carry the starred OCOP logo.",
        ),
    },
    VerdictCode.STAR_MISMATCH: {
        "vi": (
            "Sai số sao",
            "Số sao in trên tem hoặc bao bì khác với số sao sản phẩm đang được công nhận.",
            "Hãy tin số sao được công nhận ở bên dưới, không phải số sao in trên gói hàng.",
        ),
        "en": (
            "Wrong number of stars",
            "The stars on the stamp or the pack differ from the stars the product holds now.",
            "Trust the certified stars shown below, not the stars printed on the pack.",
        ),
    },
    VerdictCode.SUSPECTED_CLONE: {
        "vi": (
            "Nghi tem bị sao chép",
            "Tem có chữ ký hợp lệ, nhưng số sê-ri này đã bị khóa hoặc được quét ở những nơi "
            "mà một con tem thật không thể có mặt.",
            "Hãy cẩn thận: tem có thể đã bị in sao. Báo cho cơ quan quản lý thị trường.",
        ),
        "en": (
            "Suspected copied stamp",
            "The signature is valid, but this serial was blocked or scanned in places one real "
            "stamp could not have been.",
            "Be careful: the stamp may have been photocopied. Report it to Market Management.",
        ),
    },
}

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


#: The scanner page's own words (the verdict wording is CONSUMER's).
SCANNER: dict[str, dict[Language, Any]] = {
    "product": {"vi": "Sản phẩm", "en": "Product"},
    "producer": {"vi": "Cơ sở sản xuất", "en": "Producer"},
    "issuer": {"vi": "Cơ quan công nhận", "en": "Certified by"},
    "valid_until": {"vi": "Hiệu lực đến", "en": "Valid until"},
    "decision": {"vi": "Quyết định", "en": "Decision"},
    "checks": {"vi": "Lượt kiểm tra", "en": "Checks"},
    "checks_value": {"vi": "{count} lượt, lần đầu {first}", "en": "{count}, first on {first}"},
    "stars_label": {"vi": "{n} sao OCOP", "en": "{n} OCOP stars"},
    "reasons": {"vi": "Lý do:", "en": "Why:"},
    "checked_online": {
        "vi": "Đã kiểm tra trực tuyến với sổ đăng ký.",
        "en": "Checked online against the registry.",
    },
    "checked_offline": {
        "vi": "Đã kiểm tra ngoại tuyến; danh sách cập nhật {hours} giờ trước.",
        "en": "Checked offline; lists updated {hours} hours ago.",
    },
    "lists_stale": {
        "vi": "Danh sách đã cũ ({hours} giờ): hãy kết nối mạng để cập nhật trước khi kết luận.",
        "en": "The lists are old ({hours} hours): connect to update them before you conclude.",
    },
    "no_lists": {
        "vi": "Chưa có danh sách để kiểm tra ngoại tuyến: hãy mở trang này một lần khi có mạng.",
        "en": "No lists for offline checks yet: open this page once with a connection.",
    },
    "no_camera": {
        "vi": "Không mở được camera. Hãy cho phép dùng camera, hoặc chụp ảnh tem.",
        "en": "The camera did not open. Allow camera access, or take a photo of the stamp.",
    },
    "aim": {
        "vi": "Đưa mã QR của tem vào khung.",
        "en": "Point the camera at the stamp's QR code.",
    },
    "no_qr_in_photo": {
        "vi": "Không tìm thấy mã QR trong ảnh. Chụp gần hơn, đủ sáng.",
        "en": "No QR code in the photo. Come closer, with enough light.",
    },
    "sign_in_failed": {
        "vi": "Mã truy cập không đúng, hoặc không có mạng để kiểm tra.",
        "en": "The token is wrong, or there is no network to check it.",
    },
    "report_queued": {
        "vi": "Đã lưu báo cáo; sẽ gửi khi có mạng.",
        "en": "Report saved; it is sent when the network is there.",
    },
    "report_waiting": {"vi": "chờ gửi", "en": "waiting to be sent"},
    "block_confirm": {
        "vi": "Khóa sê-ri {serial}? Mọi máy quét sẽ báo tem này là nghi sao chép.",
        "en": "Block serial {serial}? Every scanner will show this stamp as a suspected copy.",
    },
    "blocked": {
        "vi": "Đã khóa sê-ri {serial}; cơ quan quản lý sẽ thấy trên bàn làm việc.",
        "en": "Serial {serial} blocked; the authority sees it on its desk.",
    },
    "block_refused": {
        "vi": "Không khóa được sê-ri này; dữ liệu không thay đổi.",
        "en": "This serial could not be blocked; nothing was changed.",
    },
    "block_needs_network": {
        "vi": "Cần có mạng để khóa tem. Hãy gửi báo cáo; báo cáo được lưu và gửi sau.",
        "en": "Blocking needs the network. File a report instead; it is kept and sent later.",
    },
    "report_status": {
        "vi": {"new": "đã nhận", "investigating": "đang xử lý", "closed": "đã đóng"},
        "en": {"new": "received", "investigating": "under investigation", "closed": "closed"},
    },
}


def scanner_texts(language: Language) -> dict[str, Any]:
    """Return every text the scanner page shows, in ``language``."""
    return {
        "verdicts": {code.value: list(CONSUMER[code][language]) for code in VerdictCode},
        "tone": {code.value: TONE[code] for code in VerdictCode},
        "reasons": worded(REASONS, language),
        "notes": worded(NOTES, language),
        "ui": worded(SCANNER, language),
    }


CERTIFICATE_STATES: dict[Language, dict[str, str]] = {
    "vi": {"active": "Còn hiệu lực", "expired": "Hết hạn", "revoked": "Bị thu hồi",
           "superseded": "Đã đánh giá lại"},
    "en": {"active": "Active", "expired": "Expired", "revoked": "Revoked",
           "superseded": "Re-evaluated"},
}  # fmt: skip

ROLE_NAMES: dict[Language, dict[str, str]] = {
    "vi": {"public": "Người mua", "inspector": "Kiểm tra viên", "authority": "Cơ quan quản lý",
           "producer": "Nhà sản xuất"},
    "en": {"public": "Buyer", "inspector": "Inspector", "authority": "Authority",
           "producer": "Producer"},
}  # fmt: skip

# The answer 429, as JSON and on a page; ``{seconds}`` is the Retry-After.
RATE_LIMITED: dict[Language, str] = {
    "vi": "Quá nhiều yêu cầu trong thời gian ngắn. Vui lòng thử lại sau {seconds} giây.",
    "en": "Too many requests in a short time. Please try again in {seconds} seconds.",
}
