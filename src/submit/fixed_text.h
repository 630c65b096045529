// Text built in a fixed buffer, for the code that the sendmail drop-in links, which is built
// without the C++ standard library (see cmd/mailwarden_sendmail.cc).
#pragma once

#include <stddef.h>

#include "submit/text_view.h"

namespace mailwarden {

// What does not fit is cut, and the text then ends with "...": a diagnostic is never worth an
// allocation or a failure.
template <size_t kCapacityBytes>
class FixedText {
  static_assert(kCapacityBytes > 3);

 public:
  static constexpr size_t kCapacity = kCapacityBytes;

  FixedText& Append(TextView text) {
    for (size_t i = 0; i < text.size(); ++i) {
      Append(text[i]);
    }
    return *this;
  }

  FixedText& Append(char c) {
    if (size_ < kCapacity) {
      data_[size_++] = c;
    } else {
      data_[kCapacity - 3] = data_[kCapacity - 2] = data_[kCapacity - 1] = '.';
    }
    return *this;
  }

  FixedText& AppendNumber(unsigned long number) {
    char digits[20];
    size_t count = 0;
    do {
      digits[count++] = static_cast<char>('0' + number % 10);
      number /= 10;
    } while (number != 0);
    while (count > 0) {
      Append(digits[--count]);
    }
    return *this;
  }

  void Clear() { size_ = 0; }
  TextView View() const { return TextView(data_, size_); }

 private:
  char data_[kCapacity];
  size_t size_ = 0;
};

}  // namespace mailwarden
