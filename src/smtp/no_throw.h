// The completion token of the SMTP code's asynchronous operations: the error comes back as the
// first member of a tuple, never as an exception, so that every caller handles it in line.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mailwarden {

inline constexpr auto kNoThrow = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace mailwarden
