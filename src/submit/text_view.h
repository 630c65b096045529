// A read-only view of bytes (pointer and length) for the code that the sendmail drop-in links,
// which is built without the C++ standard library (see cmd/mailwarden_sendmail.cc): it plays
// the part of std::string_view there. The bytes are not owned and may hold NUL.
#pragma once

#include <stddef.h>
#include <string.h>

namespace mailwarden {

class TextView {
 public:
  static constexpr size_t kNotFound = static_cast<size_t>(-1);

  constexpr TextView() = default;
  constexpr TextView(const char* data, size_t size) : data_(data), size_(size) {}
  // A string literal, without its terminating NUL.
  template <size_t N>
  constexpr TextView(const char (&literal)[N]) : data_(literal), size_(N - 1) {}  // NOLINT

  // A NUL-terminated string (an argv word, an environment value).
  static TextView OfCString(const char* text) { return TextView(text, strlen(text)); }

  constexpr const char* data() const { return data_; }
  constexpr size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  constexpr char operator[](size_t i) const { return data_[i]; }

  // The bytes from pos on, at most count of them; pos must not exceed size().
  constexpr TextView substr(size_t pos, size_t count = kNotFound) const {
    size_t left = size_ - pos;
    return TextView(data_ + pos, count < left ? count : left);
  }

  constexpr size_t find(char c, size_t from = 0) const {
    for (size_t i = from; i < size_; ++i) {
      if (data_[i] == c) {
        return i;
      }
    }
    return kNotFound;
  }

  // The first byte that is one of set's, or kNotFound.
  constexpr size_t find_first_of(TextView set) const {
    for (size_t i = 0; i < size_; ++i) {
      if (set.find(data_[i]) != kNotFound) {
        return i;
      }
    }
    return kNotFound;
  }

  constexpr bool starts_with(TextView prefix) const {
    return prefix.size_ <= size_ && substr(0, prefix.size_) == prefix;
  }

  friend constexpr bool operator==(TextView a, TextView b) {
    if (a.size_ != b.size_) {
      return false;
    }
    for (size_t i = 0; i < a.size_; ++i) {
      if (a.data_[i] != b.data_[i]) {
        return false;
      }
    }
    return true;
  }

 private:
  const char* data_ = "";
  size_t size_ = 0;
};

}  // namespace mailwarden
