# Mail reading: MIME parsing, the IMAP and Gmail API clients, and the
# list_inbox / read_email / reply_to_email tools.
add_library(vd_mail_read
  ${CMAKE_CURRENT_LIST_DIR}/mime_codec.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mime_message.cpp
  ${CMAKE_CURRENT_LIST_DIR}/imap_response.cpp
  ${CMAKE_CURRENT_LIST_DIR}/imap_client.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gmail_client.cpp
  ${CMAKE_CURRENT_LIST_DIR}/read_tools.cpp)
target_include_directories(vd_mail_read PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(vd_mail_read
  PUBLIC vd_tools vd_net vd_util nlohmann_json::nlohmann_json
  PRIVATE voicedesk_warnings)
