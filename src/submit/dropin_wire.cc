#include "submit/dropin_wire.h"

#include <string.h>

namespace mailwarden {
namespace {

// Appends to a header block being written; remembers when it ran out of room.
class BlockWriter {
 public:
  BlockWriter(char* out, size_t capacity) : out_(out), capacity_(capacity) {}

  void Line(TextView key, TextView value) {
    Put(key);
    Put(value);
    Put("\n");
  }

  bool overflowed() const { return overflowed_; }
  size_t size() const { return size_; }

 private:
  void Put(TextView text) {
    if (overflowed_ || text.size() > capacity_ - size_) {
      overflowed_ = true;
      return;
    }
    memcpy(out_ + size_, text.data(), text.size());
    size_ += text.size();
  }

  char* out_;
  size_t capacity_;
  size_t size_ = 0;
  bool overflowed_ = false;
};

}  // namespace

bool IsSubmitLineSafe(TextView value) {
  return value.find_first_of(TextView("\r\n\0", 3)) == TextView::kNotFound;
}

size_t EncodeSubmitHeader(const SubmitHeaderFields& fields, char* out, size_t capacity) {
  // The encoder refuses exactly what the decoder would, so a block that leaves the drop-in is
  // one the daemon reads.
  if (fields.recipient_count > kMaxRecipientsPerSubmission) {
    return 0;
  }
  BlockWriter block(out, capacity < kMaxHeaderBytes ? capacity : kMaxHeaderBytes);
  block.Line(kSubmitMagic, "");
  if (fields.has_from) {
    if (!IsSubmitLineSafe(fields.from)) {
      return 0;
    }
    block.Line(kSubmitFromKey, fields.from);
  }
  if (fields.has_full_name) {
    if (!IsSubmitLineSafe(fields.full_name)) {
      return 0;
    }
    block.Line(kSubmitFullNameKey, fields.full_name);
  }
  if (fields.extract) {
    block.Line(kSubmitExtractLine, "");
  }
  for (size_t i = 0; i < fields.recipient_count; ++i) {
    const TextView recipient = fields.recipients[i];
    if (recipient.empty() || !IsSubmitLineSafe(recipient)) {
      return 0;
    }
    block.Line(kSubmitRecipientKey, recipient);
    if (block.overflowed()) {
      return 0;
    }
  }
  block.Line("", "");
  return block.overflowed() ? 0 : block.size();
}

bool DecodeSubmitReply(TextView line, SubmitReplyLine* reply) {
  if (line.empty() || line[line.size() - 1] != '\n') {
    return false;
  }
  line = line.substr(0, line.size() - 1);
  size_t space = line.find(' ');
  if (space == 0 || space == TextView::kNotFound || space > 3) {
    return false;
  }
  int code = 0;
  for (size_t i = 0; i < space; ++i) {
    if (line[i] < '0' || line[i] > '9') {
      return false;
    }
    code = code * 10 + (line[i] - '0');
  }
  if (code > 255) {
    return false;
  }
  TextView text = line.substr(space + 1);
  if (!IsSubmitLineSafe(text)) {
    return false;
  }
  reply->code = code;
  reply->text = text;
  return true;
}

}  // namespace mailwarden
