// OpenSSL's objects owned by std::unique_ptr, each freed by its own function.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <memory>

namespace mailwarden {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace mailwarden
