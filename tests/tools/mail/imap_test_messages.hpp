#pragma once

#include <string>
#include <vector>

namespace voicedesk::test_support {

// The messages the IMAP tests seed, oldest first (UIDs 1 to 5).
inline std::vector<std::string> sample_messages() {
  return {
      // 1: plain ASCII, the start of a thread.
      "From: Alice Example <alice@example.org>\r\n"
      "To: test@example.org\r\n"
      "Subject: Project kickoff\r\n"
      "Date: Mon, 01 Jan 2024 09:00:00 +0000\r\n"
      "Message-ID: <m1@example.org>\r\n"
      "\r\n"
      "Let's start on Monday.\r\n",
      // 2: multipart/alternative, UTF-8 quoted-printable, encoded-word headers.
      "From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>\r\n"
      "To: test@example.org\r\n"
      "Subject: =?UTF-8?B?Q2Fmw6kg4piVIG1lZXRpbmc=?=\r\n"
      "Date: Tue, 02 Jan 2024 10:00:00 +0100\r\n"
      "Message-ID: <m2@example.de>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=\"=_alt\"\r\n"
      "\r\n"
      "--=_alt\r\n"
      "Content-Type: text/plain; charset=UTF-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "Gr=C3=BC=C3=9Fe aus M=C3=BCnchen! Kaffee um 10?\r\n"
      "--=_alt\r\n"
      "Content-Type: text/html; charset=UTF-8\r\n"
      "\r\n"
      "<p>HTML version</p>\r\n"
      "--=_alt--\r\n",
      // 3: ISO-8859-1, quoted-printable.
      "From: =?ISO-8859-1?Q?Zo=EB?= <zoe@example.fr>\r\n"
      "To: test@example.org\r\n"
      "Subject: =?ISO-8859-1?Q?R=E9sum=E9?=\r\n"
      "Date: Wed, 03 Jan 2024 11:00:00 +0100\r\n"
      "Message-ID: <m3@example.fr>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=ISO-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "Voici mon r=E9sum=E9, tr=E8s d=E9taill=E9.\r\n",
      // 4: base64 UTF-8 body.
      "From: Kenji <kenji@example.jp>\r\n"
      "To: test@example.org\r\n"
      "Subject: =?UTF-8?B?5LqI5a6a?=\r\n"
      "Date: Thu, 04 Jan 2024 12:00:00 +0900\r\n"
      "Message-ID: <m4@example.jp>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n"
      "5piO5pel44Gu5Lya6K2w44Gv5Y2I5b6M44Gn44GZ44CC\r\n",
      // 5: a reply in the thread of 1.
      "From: Bob <bob@example.org>\r\n"
      "To: test@example.org\r\n"
      "Subject: Re: Project kickoff\r\n"
      "Date: Fri, 05 Jan 2024 13:00:00 +0000\r\n"
      "Message-ID: <m5@example.org>\r\n"
      "In-Reply-To: <m1@example.org>\r\n"
      "References: <m0@example.org>\r\n <m1@example.org>\r\n"
      "\r\n"
      "Monday works for me.\r\n",
  };
}

}  // namespace voicedesk::test_support
