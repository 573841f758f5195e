#include "analysis/predecoder.h"

#include <gtest/gtest.h>

namespace vigil::analysis {
namespace {

struct HeaderCase {
  const char* line;
  const char* hostname;  // "" means the local host name fallback
  const char* program;   // nullptr means no program name
  const char* log;
};

TEST(PreDecoder, RecognisesHeaderForms) {
  const HeaderCase cases[] = {
      {"Dec  1 10:00:00 web1 sshd[123]: Invalid user a from 1.2.3.4", "web1", "sshd",
       "Invalid user a from 1.2.3.4"},
      {"Oct 15 21:07:00 linux-host sshd: message", "linux-host", "sshd", "message"},
      {"Oct 15 21:07:00 host CRON[99] (root) CMD (x)", "host", "CRON", "(root) CMD (x)"},
      {"Oct 15 21:07:00 host postfix/smtpd[5]: connect", "host", "postfix/smtpd", "connect"},
      {"2015-01-01T10:00:00+01:00 h1 sudo: msg", "h1", "sudo", "msg"},
      {"2015-01-01T10:00:00.123+01:00 h1 su[4]: msg", "h1", "su", "msg"},
      {"2015-01-01T10:00:00.123456-05:00 h1 app: x", "h1", "app", "x"},
      {"2008 Jun 10 12:00:00 h2 prog: y", "h2", "prog", "y"},
      {"2015:01:01-10:00:00 h3 prog[1]: z", "h3", "prog", "z"},
      {"Oct 15 21:07:00 sshd[12]: no host", "", nullptr, "sshd[12]: no host"},
      {"Oct 15 21:07:00 host kernel: [ 1.0] usb", "host", "kernel", "[ 1.0] usb"},
      {"Jun  1 10:00:00 sol sshd[1]: [ID 800047 auth.info] Failed", "sol", "sshd", "Failed"},
      {"Oct 15 21:07:00 host weird message text", "host", nullptr, "weird message text"},
      {"[Fri Feb 11 18:06:35 2004] [error] [client 1.2.3.4] x", "", nullptr,
       "[error] [client 1.2.3.4] x"},
      {"no header at all", "", nullptr, "no header at all"},
  };
  PreDecoder predecoder("manager");
  for (const HeaderCase& c : cases) {
    SCOPED_TRACE(c.line);
    Event event;
    event.location = "/var/log/test";
    event.full_log = c.line;
    predecoder.Run(&event);
    EXPECT_EQ(event.hostname, *c.hostname ? c.hostname : "manager");
    EXPECT_EQ(event.has_program_name, c.program != nullptr);
    if (c.program != nullptr) {
      EXPECT_EQ(event.program_name, c.program);
    }
    EXPECT_EQ(event.log(), c.log);
  }
}

TEST(PreDecoder, AgentEventsFallBackToLocation) {
  PreDecoder predecoder("manager");
  Event event;
  event.location = "(web1) 10.0.0.5->/var/log/secure";
  event.full_log = "no header";
  predecoder.Run(&event);
  EXPECT_EQ(event.hostname, "(web1) 10.0.0.5->/var/log/secure");
}

TEST(PreDecoder, ShortLinesStayInBounds) {
  PreDecoder predecoder("m");
  for (const char* line : {"", "D", "Dec  1 10:00:00", "Dec  1 10:00:00 ", "2015-01-01T"}) {
    SCOPED_TRACE(line);
    Event event;
    event.full_log = line;
    predecoder.Run(&event);
    EXPECT_LE(event.log_offset, event.full_log.size());
  }
}

}  // namespace
}  // namespace vigil::analysis
