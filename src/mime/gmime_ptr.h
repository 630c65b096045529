// Owners for GLib/GMime objects, so that every path frees what it got.
#pragma once

#include <gmime/gmime.h>

#include <memory>

namespace mailwarden {

struct GObjectUnref {
  void operator()(gpointer p) const { g_object_unref(p); }
};
template <class T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(gpointer p) const { g_free(p); }
};
using GCharPtr = std::unique_ptr<char, GFree>;

struct FormatOptionsFree {
  void operator()(GMimeFormatOptions* p) const { g_mime_format_options_free(p); }
};
using FormatOptionsPtr = std::unique_ptr<GMimeFormatOptions, FormatOptionsFree>;

}  // namespace mailwarden
