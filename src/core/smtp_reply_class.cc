#include "core/smtp_reply_class.h"

namespace mailwarden {

ReplyClass ClassifyReply(int code) {
  if (code >= 200 && code <= 299) return ReplyClass::kAccepted;
  if (code >= 500 && code <= 599) return ReplyClass::kPermanent;
  return ReplyClass::kTemporary;
}

}  // namespace mailwarden
