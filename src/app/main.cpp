#include "app/cli.hpp"

int main(int argc, char** argv) {
  return voicedesk::app::run_cli(argc, argv);
}
