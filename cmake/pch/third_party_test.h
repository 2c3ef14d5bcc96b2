// Precompiled header of every test executable (cmake/pch.cmake): third_party.h plus GoogleTest and GoogleMock.
#pragma once

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "third_party.h"
