#include "core/time_share.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

using namespace std::chrono_literals;
using TimeShareClock = TimeShare::Clock;

const TimeShareClock::time_point kShareT0 = TimeShareClock::time_point(1h);

TEST(TimeShare, WithNothingElseComingTheWorkRunsFlatOut) {
  TimeShare share(250ms, 0.2);
  share.Roll(kShareT0);
  share.Used(240ms);
  EXPECT_TRUE(share.Allowed());
}

TEST(TimeShare, WhileOtherWorkComesTheWorkTakesOnlyItsShareOfTheWindow) {
  TimeShare share(250ms, 0.2);
  share.Roll(kShareT0);
  share.NoteOther();
  share.Used(40ms);
  EXPECT_TRUE(share.Allowed()) << "40 ms of its 50 ms";
  share.Used(10ms);
  EXPECT_FALSE(share.Allowed()) << "its 50 ms are used";
  share.Roll(kShareT0 + 200ms);
  EXPECT_FALSE(share.Allowed()) << "the same window: it waits";
  EXPECT_EQ(share.window_end(), kShareT0 + 250ms);
  share.Roll(kShareT0 + 250ms);
  EXPECT_TRUE(share.Allowed()) << "the next window gives it its share again";
}

TEST(TimeShare, TheWindowAfterOtherWorkIsStillShared) {
  TimeShare share(250ms, 0.2);
  share.Roll(kShareT0);
  share.NoteOther();
  share.Roll(kShareT0 + 260ms);  // nothing else came in this one (yet)
  share.Used(50ms);
  EXPECT_FALSE(share.Allowed()) << "other work came a moment ago: it will likely come again";
}

TEST(TimeShare, AfterAQuietSpellTheWorkRunsFlatOutAgain) {
  TimeShare share(250ms, 0.2);
  share.Roll(kShareT0);
  share.NoteOther();
  share.Roll(kShareT0 + 260ms);
  share.Roll(kShareT0 + 520ms);  // two windows without other work
  share.Used(200ms);
  EXPECT_TRUE(share.Allowed());
  share.Roll(kShareT0 + 5s);  // a window long after the last other work
  share.Used(200ms);
  EXPECT_TRUE(share.Allowed());
}

TEST(TimeShare, AWindowLongOverIsNotTakenForTheLastOne) {
  TimeShare share(250ms, 0.2);
  share.Roll(kShareT0);
  share.NoteOther();
  share.Roll(kShareT0 + 10s);  // the next Roll comes long after: that work is long gone
  share.Used(200ms);
  EXPECT_TRUE(share.Allowed());
}

}  // namespace
}  // namespace mailwarden
