// spire-agent: SPIRE-compatible command line (the commands are in cli.cc).
#include <iostream>
#include <string>
#include <vector>

#include "cli_common.h"
#include "common/process.h"

int main(int argc, char** argv) {
  spirecvm::ConfigureProcessRuntime();
  return spirecvm::cli::agent::Main(std::vector<std::string>(argv + 1, argv + argc),
                                    spirecvm::cli::agent::Io{std::cout, std::cerr});
}
